"""katib-py's Python SDK, call-compatible with kubeflow-katib 0.19.

    from katib_py import sdk as katib
    katib.KatibClient().tune(name="exp", objective=fn, parameters={"lr": katib.search.double(0.01, 0.1)})

Objects come back as katib-py pydantic models (see katib_py.sdk.client for the differences).
"""

from katib_py.sdk import constants as constants
from katib_py.sdk import search as search
from katib_py.sdk.client import KatibClient as KatibClient
from katib_py.sdk.constants import BASE_IMAGE_MXNET as BASE_IMAGE_MXNET
from katib_py.sdk.constants import BASE_IMAGE_PYTORCH as BASE_IMAGE_PYTORCH
from katib_py.sdk.constants import BASE_IMAGE_TENSORFLOW as BASE_IMAGE_TENSORFLOW
from katib_py.sdk.constants import BASE_IMAGE_TENSORFLOW_GPU as BASE_IMAGE_TENSORFLOW_GPU
from katib_py.sdk.models import *  # noqa: F403  (kubeflow-katib's V1beta1* names)
from katib_py.sdk.models import __all__ as _models
from katib_py.sdk.report_metrics import report_metrics
from katib_py.sdk.types import TrainerResources as TrainerResources

__all__ = [
    "BASE_IMAGE_MXNET",
    "BASE_IMAGE_PYTORCH",
    "BASE_IMAGE_TENSORFLOW",
    "BASE_IMAGE_TENSORFLOW_GPU",
    "KatibClient",
    "TrainerResources",
    "constants",
    "report_metrics",
    "search",
    *_models,
]
