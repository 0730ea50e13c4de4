"""The asking side: condense, retrieve, score lines, answer or refuse, verify."""
