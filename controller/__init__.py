"""exlib: the Example Library operator."""
