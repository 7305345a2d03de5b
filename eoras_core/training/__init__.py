"""Training: focal loss, augmented track windows, the trainer loop (single process or DDP)."""
