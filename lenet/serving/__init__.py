"""Serving the Gradio app: worker processes (pool), its input and output components (ui), and the
public request boundary (guard). Imports gradio; the core package does not."""
