"""The Goodhart suite: one environment per Goodhart variant, misspecification on a dial."""
