"""Teaching tools: play an environment from the keyboard, record episodes as GIFs, the demo."""
