"""Support shared by tests/ and bench/ (not shipped): the app in a child process (appserver), a lean
HTTP client for its API (httpapi), digit renderers (render: strokes, Sketchpad values, photos; wild:
the benchmark's sketches, photos and pasted digits) and the files a public Space gets (badfiles)."""
