"""How a dataset's images are cropped and augmented: the CIFAR way (pad and crop 32x32) or the
ImageNet way (random-resized crops). Kept apart from the pipeline so configuration flags list the
kinds without importing TensorFlow."""

KINDS = ("cifar", "imagenet")
