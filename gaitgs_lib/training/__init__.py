"""Training GaitGS: the authors' recipe as `TrainConfig` presets, a resumable trainer (CPU, one
GPU with AMP, or DistributedDataParallel under torchrun), and the `train` command
(README.md, "Training recipe"; docs/data-and-evaluation.md, "Sampling"; docs/guarantees.md).

One job per module, in the order a run uses them:

| module | job |
| --- | --- |
| `run.py` | the training loop first (`Run.loop`, `train_step`, `log`, `checkpoint`), then what prepares it (configure, load and check data, build, open the folder) and `train(...)` |
| `config.py` | `TrainConfig`, `TRAIN_PRESETS`, `get_train_config`, `model_config`, `ABLATIONS`; resolving a run's recipe (resume, `--steps`, device) |
| `batches.py` | the resumable P x K batch plan and the seeded frame windows |
| `nonfinite.py` | the guarded optimiser step (NaN/inf stop the run; fp16 GradScaler skips are normal) |
| `checkpoints.py` | saving checkpoints (atomic, never non-finite), reading for resume, `export_checkpoint` (the format: `fileio`) |
| `metrics.py` | `metrics.jsonl` (strict JSON) and `read_metrics` |
| `run_dir.py` | the run folder: refusals, staging and rollback (`--overwrite`), data identity and the resume check, `config.json` history |
| `distributed.py` | torchrun: ranks, process group, the DDP wrap, gathered triplet batch, rank-0 decisions |
| `failure.py` | what a stopped run keeps (checkpoint, rollback) and the message that says so |
| `errors.py` | `TrainingError`, `NonFiniteError`, `TrainingInterrupted`, `CheckpointWriteError` |
| `cli.py` | the `train` command (`main`) |

A run directory holds `config.json`, `metrics.jsonl` (one line per logging step) and
`checkpoints/latest.pt` (+ periodic `iter-NNNNNNN.pt`), every file written atomically.
"""
from .checkpoints import export_checkpoint
from .cli import main
from .config import ABLATIONS, TRAIN_PRESETS, TrainConfig, get_train_config, model_config
from .errors import NonFiniteError, TrainingError, TrainingInterrupted
from .metrics import read_metrics
from .run import TrainResult, train

__all__ = ["TrainConfig", "TRAIN_PRESETS", "ABLATIONS", "get_train_config", "model_config", "train",
           "TrainResult", "export_checkpoint", "read_metrics", "main", "TrainingError", "NonFiniteError",
           "TrainingInterrupted"]
