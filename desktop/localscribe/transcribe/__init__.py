"""Speech to timed text with whisper.cpp, in a worker process, while the visit goes on.

    streaming.StreamingTranscriber(model_file, channel_map=None, n_threads=None)
        .start() .feed(samples, channels=None) -> [Segment] .poll() .finish() .close()
        .segments .stats (windows, engine seconds, dropped hallucinations)
    files.transcribe_file(path, model_file, ...) -> FileTranscription   (NoSpeechError)
    worker.EngineWorker / WorkerCrashed / TranscriptionError
    engine.WhisperEngine(model_file, n_threads=None).transcribe(samples) -> [RawSegment]
    hallucination.HallucinationFilter().judge(text, confidence, speech_fraction, t0)

model_file is a localscribe.models.ModelFile (verified) or an absolute path to a ggml file.
"""
