"""GaitGS blocks, one module per block, named as the paper names them (docs/architecture.md)."""
from .b3d import B3D
from .cape import CAPE
from .checkpoint import load_opengait, load_trained_model, save_opengait, to_opengait_state_dict
from .gaitgs import GaitGS
from .gcm import GCM
from .hp import HorizontalPooling
from .mcm import MCM, MTB
from .mgfe import MGFE
from .msfe import MSFE
from .pieg import PIEG, GeM
from .separate_fcs import SeparateFCs
from .input_conv import InputConv
from .stem import STEM
from .summary import parameter_table
from .transformer import EncoderLayer, TransformerEncoder
from .uta import UTA

__all__ = [
    "B3D", "CAPE", "EncoderLayer", "GCM", "GaitGS", "GeM", "HorizontalPooling", "MCM", "MGFE", "MSFE",
    "InputConv", "MTB", "PIEG", "SeparateFCs", "STEM", "TransformerEncoder", "UTA",
    "load_opengait", "load_trained_model", "parameter_table", "save_opengait", "to_opengait_state_dict",
]
