"""Templates that `vtune init` renders into a new project."""
