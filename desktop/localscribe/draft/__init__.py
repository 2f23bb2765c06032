"""Note drafting with a local llama.cpp model.

Public API:
    templates.load_template(name, data_dir=None) -> Template; available_templates(data_dir)
    engine.LlamaEngine(model_file | abs_path, n_ctx=4096, n_threads=None, lookahead=0)
        .for_profile(profile, paths) ; .prefill(tokens) ; .generate(tokens, grammar, max_tokens=...)
        .counters (tokens decoded / generated)
    incremental.IncrementalDrafter(engine, template, max_tokens=None)
        .feed(segments) during the visit ; .finish(on_text=callback) -> Draft at Stop ; .stats
    incremental.draft_transcript(engine, transcript, template) -> (Draft, stats.DraftStats)
    recheck.rewrite_blocked(...): a sentence the verifier blocks, written again
    merge.merge_sections(template, parts): a long visit's chunk notes, merged in code
    service.draft_note(engine, transcript, template) -> (Draft, stats)   (drafts and verifies)
    worker.DraftWorker(WorkerConfig(model=..., template=...)): .feed(), .finish(on_text=), .close()
    render.render_note(draft, template) -> str
    transcript_text.parse_transcript_text(text) -> Transcript
"""
