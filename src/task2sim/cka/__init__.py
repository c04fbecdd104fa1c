"""Linear CKA between backbones on stage 1-4 features over task images (supp. Fig. 1)."""
