"""EoRaS Studio: the Gradio web app (panels, per-session state, rendering, exports and the segment_video API)."""
