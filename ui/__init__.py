"""Pure-numpy drawing for the studio UI (no Gradio imports), so it can be tested and timed alone."""
