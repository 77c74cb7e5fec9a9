"""Tutorial programs run on gradviz and PyTorch."""
