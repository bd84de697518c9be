"""System-level reliability tests: faults and attacks seen through the API, the CLI and the UI.

Everything is real (corpus, index, Chroma, Gradio); the only stand-ins are small HTTP stubs for
an OpenAI-compatible LLM endpoint. All traffic stays on 127.0.0.1. See docs/RELIABILITY.md.
"""
