"""Which bank question an answer or a typed question is about: the index, ranking and confidence."""
