"""Live media pipeline: ingress, VAD, ASR, face and affect stages, scorer, score store."""
