"""App: composes retrieval, answering and the Gradio UI; the CLI is the composition root."""
