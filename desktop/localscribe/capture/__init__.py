"""Audio in: files and microphones to 16 kHz mono float32, levels, voice activity, windows.

    decode.audio_info(path) / decode_file(path) / iter_blocks(path, block_seconds)  -> AudioDecodeError
    sources.FileSource(path, block_seconds=0.5, realtime=False, keep_channels=False)  -> AudioBlocks
    sources.MicrophoneSource(device=None, channels=1, spool=None, on_level=None)
        .start() .blocks() .read(timeout) .pause() .resume() .stop() .captured_seconds
        raises NoInputDevice / DeviceLost (CaptureError); the spool keeps what was captured
    sources.input_devices() / refresh_devices()
    level.LevelMeter().update(samples) -> Level(rms_db, peak_db, clipping, fraction)
    vad.VoiceActivityDetector().process(samples) -> (speech flags per 30 ms, energy dB)
    windows.WindowCutter().push(samples) / flush() -> Windows (<= 28 s, cut at pauses)
"""
