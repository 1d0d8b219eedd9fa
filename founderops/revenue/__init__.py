"""Revenue analytics: billing records, the MRR engine and its movements (pure Python so far)."""
