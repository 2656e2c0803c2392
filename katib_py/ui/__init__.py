"""What users look at: the figures (`figures`, pure) and the front ends that draw them."""
