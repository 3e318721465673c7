"""Spoken answers: audio decoding, pluggable speech-to-text, topic-aware correction, speaking metrics."""
