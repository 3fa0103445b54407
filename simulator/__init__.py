"""nvrsim: simulated CCTV recorders and cameras that answer the real protocols."""
