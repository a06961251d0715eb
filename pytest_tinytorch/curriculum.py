"""The curriculum: every kata and milestone, as data.

This table is the single source of truth. Collection, gating, linking, the progress
table, milestones and points all read it; nothing else lists katas. It imports only the
standard library so that `tinytorch/__init__.py` can read it too.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KATAS_DIR = ROOT / "katas"
REFERENCE_DIR = ROOT / "reference"
MILESTONES_DIR = ROOT / "milestones"
HIDDEN_TESTS = ".tests"  # inside each kata folder; a dot folder stays out of the learner's way

TIERS = ("Foundation", "Architecture", "Optimization", "Capstone")


@dataclass(frozen=True)
class KataFile:
    name: str  # file name inside katas/NN_slug/
    module: str  # dotted package path the file is linked to
    exports: tuple[str, ...] = ()  # public names re-exported by `tinytorch`

    @property
    def link(self) -> Path:
        """Where the file is linked once the kata is green, e.g. tinytorch/core/tensor.py."""
        return ROOT.joinpath(*self.module.split(".")).with_suffix(".py")


@dataclass(frozen=True)
class Kata:
    number: int
    slug: str
    title: str
    tier: str
    files: tuple[KataFile, ...]
    requires: tuple[str, ...] = ()  # direct prerequisites, by kata id
    points: int = 10

    @property
    def id(self) -> str:
        return f"{self.number:02d}_{self.slug}"

    @property
    def path(self) -> Path:
        return KATAS_DIR / self.id

    @property
    def reference(self) -> Path:
        return REFERENCE_DIR / self.id

    @property
    def tests_dir(self) -> Path:
        return self.path / HIDDEN_TESTS

    @property
    def written(self) -> bool:
        """Declared katas without a folder yet are shown as 'coming', never as failing."""
        return self.tests_dir.is_dir()


@dataclass(frozen=True)
class Milestone:
    name: str
    year: int
    title: str
    requires: tuple[str, ...]
    points: int = 10

    @property
    def path(self) -> Path:
        return MILESTONES_DIR / f"test_{self.name}.py"

    @property
    def written(self) -> bool:
        return self.path.is_file()


def _f(name: str, module: str, *exports: str) -> KataFile:
    return KataFile(name, module, tuple(exports))


KATAS: tuple[Kata, ...] = (
    Kata(1, "tensor", "Tensor", "Foundation",
         (_f("tensor.py", "tinytorch.core.tensor", "Tensor"),)),
    Kata(2, "activations", "Activations", "Foundation",
         (_f("activations.py", "tinytorch.core.activations",
             "Sigmoid", "ReLU", "Tanh", "GELU", "Softmax"),),
         requires=("01_tensor",)),
    Kata(3, "layers", "Layers", "Foundation",
         (_f("layers.py", "tinytorch.core.layers", "Layer", "Linear", "Dropout", "Sequential"),),
         requires=("01_tensor", "02_activations")),
    Kata(4, "losses", "Losses", "Foundation",
         (_f("losses.py", "tinytorch.core.losses",
             "log_softmax", "MSELoss", "CrossEntropyLoss", "BinaryCrossEntropyLoss"),),
         requires=("01_tensor", "02_activations")),
    Kata(5, "dataloader", "DataLoader", "Foundation",
         (_f("dataloader.py", "tinytorch.core.dataloader",
             "Dataset", "TensorDataset", "DataLoader", "RandomHorizontalFlip", "RandomCrop",
             "Compose"),),
         requires=("01_tensor",)),
    Kata(6, "autograd", "Autograd", "Foundation",
         (_f("autograd.py", "tinytorch.core.autograd", "enable_autograd", "no_grad", "Function"),),
         requires=("01_tensor", "02_activations", "03_layers", "04_losses")),
    Kata(7, "optimizers", "Optimizers", "Foundation",
         (_f("optimizers.py", "tinytorch.core.optimizers", "Optimizer", "SGD", "Adam", "AdamW"),),
         requires=("06_autograd",)),
    Kata(8, "training", "Training", "Foundation",
         (_f("training.py", "tinytorch.core.training",
             "Trainer", "CosineSchedule", "clip_grad_norm", "save_checkpoint", "load_checkpoint"),),
         requires=("05_dataloader", "07_optimizers")),
    Kata(9, "convolutions", "Convolutions", "Architecture",
         (_f("spatial.py", "tinytorch.core.spatial", "Conv2d", "MaxPool2d", "AvgPool2d", "BatchNorm2d",
             "Flatten"),),
         requires=("08_training",)),
    Kata(10, "tokenization", "Tokenization", "Architecture",
         (_f("tokenization.py", "tinytorch.core.tokenization", "CharTokenizer", "BPETokenizer"),),
         requires=("01_tensor",)),
    Kata(11, "embeddings", "Embeddings", "Architecture",
         (_f("embeddings.py", "tinytorch.core.embeddings", "Embedding", "PositionalEncoding",
             "create_sinusoidal_embeddings", "EmbeddingLayer"),),
         requires=("08_training", "10_tokenization")),
    Kata(12, "attention", "Attention", "Architecture",
         (_f("attention.py", "tinytorch.core.attention",
             "scaled_dot_product_attention", "MultiHeadAttention"),),
         requires=("11_embeddings",)),
    Kata(13, "transformers", "Transformers", "Architecture",
         (_f("transformers.py", "tinytorch.core.transformers",
             "LayerNorm", "MLP", "TransformerBlock", "create_causal_mask"),
          _f("gpt.py", "tinytorch.models.transformer", "GPT")),
         requires=("12_attention",)),
    Kata(14, "profiling", "Profiling", "Optimization",
         (_f("profiling.py", "tinytorch.perf.profiling", "Profiler", "quick_profile"),),
         requires=("09_convolutions", "13_transformers")),  # it counts conv and attention FLOPs
    Kata(15, "quantization", "Quantization", "Optimization",
         (_f("quantization.py", "tinytorch.perf.quantization",
             "quantize_int8", "dequantize_int8", "QuantizedLinear", "quantize_model"),),
         requires=("08_training",)),
    Kata(16, "compression", "Compression", "Optimization",
         (_f("compression.py", "tinytorch.perf.compression",
             "measure_sparsity", "magnitude_prune", "keep_pruned", "structured_prune",
             "low_rank_approximate", "KnowledgeDistillation"),),
         requires=("08_training",)),
    Kata(17, "acceleration", "Acceleration", "Optimization",
         (_f("acceleration.py", "tinytorch.perf.acceleration",
             "naive_matmul", "vectorized_matmul", "tiled_matmul", "im2col", "col2im",
             "naive_conv2d", "shift_add_conv2d", "im2col_conv2d", "fused_gelu",
             "benchmark_conv2d", "benchmark_matmul"),),
         requires=("09_convolutions",)),
    Kata(18, "memoization", "Memoization", "Optimization",
         (_f("memoization.py", "tinytorch.perf.memoization", "KVCache", "CachedAttention",
             "enable_kv_cache", "disable_kv_cache", "generate_cached"),),
         requires=("13_transformers",)),
    Kata(19, "benchmarking", "Benchmarking", "Optimization",
         (_f("benchmarking.py", "tinytorch.perf.benchmarking",
             "Benchmark", "BenchmarkResult", "BenchmarkSuite", "MLPerf", "OlympicEvent",
             "precise_timer", "pareto_frontier", "t_critical"),),
         requires=("08_training",)),
    Kata(20, "capstone", "Torch Olympics", "Capstone",
         (_f("olympics.py", "tinytorch.olympics",
             "EVENTS", "build_baseline", "train_baseline", "measure_accuracy", "model_size_bytes",
             "measure_speedup", "check_event", "optimize", "generate_submission",
             "validate_submission", "save_submission", "load_submission"),),
         requires=("14_profiling", "15_quantization", "16_compression", "17_acceleration",
                   "18_memoization", "19_benchmarking"),
         points=20),
)

_FOUNDATION = tuple(k.id for k in KATAS if k.number <= 8)

MILESTONES: tuple[Milestone, ...] = (
    Milestone("perceptron", 1958, "Rosenblatt's perceptron",
              ("01_tensor", "02_activations", "03_layers")),
    Milestone("xor", 1969, "Minsky and Papert's XOR limit",
              ("01_tensor", "02_activations", "03_layers")),
    Milestone("mlp", 1986, "Backpropagation learns XOR and digits", _FOUNDATION),
    Milestone("cnn", 1998, "A convolutional network reads digits", _FOUNDATION + ("09_convolutions",)),
    Milestone("transformer", 2017, "Attention is all you need",
              _FOUNDATION + tuple(k.id for k in KATAS if 10 <= k.number <= 13)),
    Milestone("mlperf", 2018, "Measure, then optimize",
              _FOUNDATION + tuple(k.id for k in KATAS if 14 <= k.number <= 19)),
)

BY_ID = {k.id: k for k in KATAS}
MILESTONES_BY_NAME = {m.name: m for m in MILESTONES}


def closure(ids: tuple[str, ...] | list[str]) -> list[Kata]:
    """The katas named and everything they transitively require, in curriculum order."""
    todo, seen = list(ids), set()
    while todo:
        kid = todo.pop()
        if kid not in seen:
            seen.add(kid)
            todo.extend(BY_ID[kid].requires)
    return [k for k in KATAS if k.id in seen]


def prerequisites(kata: Kata) -> list[Kata]:
    return [k for k in closure(kata.requires)]


def kata_of_path(path: Path) -> Kata | None:
    """The kata whose folder contains `path` (a file or folder), if any."""
    try:
        rel = Path(path).resolve().relative_to(KATAS_DIR)
    except ValueError:
        return None
    return BY_ID.get(rel.parts[0]) if rel.parts else None


def kata_of_nodeid(nodeid: str) -> Kata | None:
    """Node ids are relative to the root: 'katas/01_tensor/.tests/test_tensor.py::t'."""
    parts = nodeid.split("::", 1)[0].split("/")
    return BY_ID.get(parts[1]) if len(parts) > 1 and parts[0] == "katas" else None


def milestone_of_nodeid(nodeid: str) -> Milestone | None:
    name = nodeid.split("::", 1)[0]
    for m in MILESTONES:
        if name == f"milestones/{m.path.name}":
            return m
    return None


def provider_of(name: str) -> tuple[Kata, KataFile] | None:
    """Which kata file exports a public name, for `from tinytorch import name`."""
    for k in KATAS:
        for f in k.files:
            if name in f.exports:
                return k, f
    return None


def kata_of_module(module: str) -> tuple[Kata, KataFile] | None:
    for k in KATAS:
        for f in k.files:
            if f.module == module:
                return k, f
    return None
