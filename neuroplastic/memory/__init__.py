"""Associative memories: classical and dense Hopfield networks, modern Hopfield layers, the
multitasking Hebbian network and the CA3 spiking content-addressable memory."""
from . import ca3, dense, hopfield, modern_hopfield, multitask
from .ca3 import CA3Memory, CA3Params
from .dense import DenseAssociativeMemory
from .hopfield import ClassicalHopfield
from .modern_hopfield import Hopfield, HopfieldLayer, HopfieldPooling, hopfield_retrieve, hopfield_update

__all__ = ["ca3", "dense", "hopfield", "modern_hopfield", "multitask", "CA3Memory", "CA3Params",
           "DenseAssociativeMemory", "ClassicalHopfield", "Hopfield", "HopfieldLayer", "HopfieldPooling",
           "hopfield_retrieve", "hopfield_update"]
