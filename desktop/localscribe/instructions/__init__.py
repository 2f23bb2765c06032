"""Patient instructions (the after-visit summary): a plain-language summary for the patient,
written by the note's engine under the note's grammar and checked sentence by sentence by the
note's verifier.

Public API:
    prompts.Language ; prompts.summary_template(lang)
    writer.draft_summary(engine, transcript, lang, note_text="") -> SummaryRun (draft, stats)
    reading.reading_level(text, lang) -> Reading (Flesch-Kincaid grade, textstat)
    store.InstructionsStore(session): save / load / signed ; seal_with_note at signing
    render.render_text(summary) / render_html(summary)
"""
