"""The Hugging Face Hub: pull a model at a pinned revision, push a checkpoint with its card, deploy the Spaces."""

from lenet.hub.errors import HubError, bound_hub_waits
from lenet.hub.publish import push
from lenet.hub.pull import PIN_FILE, Serving, load_pretrained, load_serving_model, serving_pin
from lenet.hub.space import SPACE_FILES, deploy_space, deploy_static, space_files

__all__ = [
    "PIN_FILE",
    "SPACE_FILES",
    "HubError",
    "Serving",
    "bound_hub_waits",
    "deploy_space",
    "deploy_static",
    "load_pretrained",
    "load_serving_model",
    "push",
    "serving_pin",
    "space_files",
]
