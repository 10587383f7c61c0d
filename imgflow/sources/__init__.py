"""Where images come from: downloads and archives, CIFAR, scikit-learn's digits, labels files."""
