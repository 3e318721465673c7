"""Reviewer rubric tuning: API keys and roles, versioned rubrics, what-if re-scoring, human grades."""
