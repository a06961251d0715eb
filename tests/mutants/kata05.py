"""Plausible wrong DataLoaders and augmentations for kata 05."""
from tests.mutants import Mutant

MUTANTS = [
    Mutant(name="drop_last ignored", file="dataloader.py", test='test_dataloader.py::test_batch_sizes_and_drop_last',
           old="if self.drop_last and len(indices) < self.batch_size:",
           new="if False:",
           expect=r"drop_last=True must drop the final batch"),
    Mutant(name="last partial batch lost without drop_last", file="dataloader.py", test='test_dataloader.py::test_batch_sizes_and_drop_last',
           old="for start in range(0, n, self.batch_size):",
           new="for start in range(0, n - self.batch_size + 1, self.batch_size):",
           expect=r"the last partial batch is missing"),
    Mutant(name="shuffle reseeded every epoch", file="dataloader.py", test='test_dataloader.py::test_each_epoch_is_a_fresh_permutation',
           old="order = self.rng.permutation(n) if self.shuffle else np.arange(n)",
           new="order = np.random.default_rng(self.seed).permutation(n) if self.shuffle "
               "else np.arange(n)",
           expect=r"re-seeding every epoch repeats the same order"),
    Mutant(name="shuffle ignored", file="dataloader.py", test='test_dataloader.py::test_shuffle_mixes_examples',
           old="order = self.rng.permutation(n) if self.shuffle else np.arange(n)",
           new="order = np.arange(n)",
           expect=r"shuffle=True must (change the order|draw a random permutation)"),
    Mutant(name="seed ignored", file="dataloader.py", test='test_dataloader.py::test_same_seed_same_sequence_of_epochs',
           old="self.rng = np.random.default_rng(seed)  # once",
           new="self.rng = np.random.default_rng()  # once",
           expect=r"same seed must give the same sequence of epochs"),
    Mutant(name="shuffles the order of batches only", file="dataloader.py", test='test_dataloader.py::test_shuffle_mixes_examples',
           old="order = self.rng.permutation(n) if self.shuffle else np.arange(n)\n"
               "        for start in range(0, n, self.batch_size):",
           new="order = np.arange(n)\n"
               "        starts = np.arange(0, n, self.batch_size)\n"
               "        for start in (self.rng.permutation(starts) if self.shuffle else starts):",
           expect=r"not just the order of the batches"),
    Mutant(name="len() floors without drop_last", file="dataloader.py", test='test_dataloader.py::test_len_is_number_of_batches',
           old="return n // b if self.drop_last else (n + b - 1) // b",
           new="return n // b",
           expect=r"len\(loader\) must count the last partial batch"),
    Mutant(name="indices sampled with replacement", file="dataloader.py", test='test_dataloader.py::test_batch_sizes_and_drop_last',
           old="self.rng.permutation(n) if self.shuffle",
           new="self.rng.integers(0, n, size=n) if self.shuffle",
           expect=r"draw indices without replacement"),
    Mutant(name="batch_size 0 not rejected", file="dataloader.py", test='test_dataloader.py::test_rejects_batch_size_below_one',
           old="if batch_size < 1:",
           new="if batch_size < 0:",
           expect=r"batch_size=0\) must raise ValueError"),
    Mutant(name="fields gathered with different orders", file="dataloader.py", test='test_dataloader.py::test_batch_sizes_and_drop_last',
           old="return tuple(Tensor(t.data[indices]) for t in self.dataset.tensors)",
           new="return tuple(Tensor(t.data[self.rng.permutation(indices)]) "
               "for t in self.dataset.tensors)",
           expect=r"the fields of a batch must hold the same examples"),
    Mutant(name="generic batches stacked on the last axis", file="dataloader.py", test='test_dataloader.py::test_works_with_any_dataset',
           old="for v in field]))",
           new="for v in field], axis=-1))",
           expect=r"stack on a new first axis: B examples of shape \(2, 3\) give \(B, 2, 3\)"),
    Mutant(name="mismatched lengths accepted", file="dataloader.py", test='test_dataloader.py::test_tensor_dataset_rejects_mismatched_lengths',
           old="if len(set(lengths)) > 1:",
           new="if len(set(lengths)) > 2:",
           expect=r"with different first dimensions must raise ValueError"),
    Mutant(name="flip mirrors the wrong axis", file="dataloader.py", test='test_dataloader_augment.py::test_flip_p1_mirrors_last_axis',
           old="return Tensor(np.flip(x.data, axis=-1).copy())",
           new="return Tensor(np.flip(x.data, axis=-2).copy())",
           expect=r"you flipped axis -2"),
    Mutant(name="flip probability inverted", file="dataloader.py", test='test_dataloader_augment.py::test_flip_p0_is_identity',
           old="if self.rng.random() < self.p:",
           new="if self.rng.random() > self.p:",
           expect=r"flip with probability p"),
    Mutant(name="crop never reaches the last window position", file="dataloader.py", test='test_dataloader_augment.py::test_crop_reaches_every_window_position',
           old="top = self.rng.integers(0, h - s + 1)",
           new="top = self.rng.integers(0, max(h - s, 1))",
           expect=r"last window position .* was never chosen"),
    Mutant(name="crop pads only the top and left", file="dataloader.py", test='test_dataloader_augment.py::test_crop_reaches_every_window_position',
           old="pad = [(0, 0)] * (x.ndim - 2) + [(p, p), (p, p)]",
           new="pad = [(0, 0)] * (x.ndim - 2) + [(p, 0), (p, 0)]",
           expect=r"pad both sides"),
    Mutant(name="shuffles with NumPy's global random state, seeded in __init__", file="dataloader.py", test='test_dataloader.py::test_loaders_have_their_own_random_generator',
           old="self.rng = np.random.default_rng(seed)  # once",
           new="np.random.seed(seed)\n        self.rng = np.random  # once",
           expect=r"must not touch NumPy's global random state"),
    Mutant(name="all loaders share one generator (a class attribute)", file="dataloader.py", test='test_dataloader.py::test_loaders_have_their_own_random_generator',
           old="self.rng = np.random.default_rng(seed)  # once",
           new="type(self).rng = np.random.default_rng(seed)  # once",
           expect=r"used interleaved(.|\n)*a generator \(or random state\) shared by two loaders"),
    Mutant(name="batches yielded as lists", file="dataloader.py", test='test_dataloader.py::test_epoch_is_partition',
           old="            yield self._batch(indices)",
           new="            yield list(self._batch(indices))",
           expect=r"batch 0 is a list(.|\n)*yield tuple\(\.\.\.\)"),
    Mutant(name="TensorDataset takes exactly two tensors", file="dataloader.py", test='test_dataloader.py::test_any_number_of_tensors',
           old="""    def __init__(self, *tensors):
        self.tensors = tuple(""",
           new="""    def __init__(self, x, y):
        tensors = (x, y)
        self.tensors = tuple(""",
           expect=r"TensorDataset must accept any number of tensors \(3 here\)"),
    Mutant(name="DataLoader batches two fields only", file="dataloader.py", test='test_dataloader.py::test_any_number_of_tensors',
           old="return tuple(Tensor(t.data[indices]) for t in self.dataset.tensors)",
           new="x, y = self.dataset.tensors[:2]\n            return (Tensor(x.data[indices]), Tensor(y.data[indices]))",
           expect=r"batch 0 is a tuple(.|\n)*examples have 3 field\(s\)"),
    Mutant(name="TensorDataset batches fetched one example at a time", file="dataloader.py", test='test_dataloader.py::test_tensor_dataset_batches_are_gathered_at_once',
           old="if isinstance(self.dataset, TensorDataset):",
           new="if False:",
           expect=r"at once, not one example at a time"),
    Mutant(name="generic batches assume Tensor fields", file="dataloader.py", test='test_dataloader.py::test_works_with_array_and_number_fields',
           old="np.stack([np.asarray(getattr(v, \"data\", v)) for v in field])",
           new="np.stack([v.data for v in field])",
           expect=r"whose fields are arrays and numbers(.|\n)*AttributeError"),
    Mutant(name="batches cut with np.array_split (sizes spread out)", file="dataloader.py", test='test_dataloader.py::test_batch_sizes_and_drop_last',
           old="""        for start in range(0, n, self.batch_size):
            indices = order[start:start + self.batch_size]""",
           new="""        for indices in np.array_split(order, max(n // self.batch_size, 1)):""",
           expect=r"got sizes \[4, 3, 3\](.|\n)*except possibly the last one"),
    Mutant(name="flip returns its input itself when it does not flip", file="dataloader.py", test='test_dataloader_augment.py::test_augmentations_return_a_new_tensor_sharing_no_memory[RandomHorizontalFlip(p=0)]',
           old="        return Tensor(x.data.copy())",
           new="        return x",
           expect=r"must return a new Tensor, not x itself"),
    Mutant(name="crop returns its input itself when the window is the whole image", file="dataloader.py", test='test_dataloader_augment.py::test_augmentations_return_a_new_tensor_sharing_no_memory[RandomCrop(3) of a 3x3 image]',
           old="""        p, s = self.padding, self.size
""",
           new="""        p, s = self.padding, self.size
        if p == 0 and x.data.shape[-2:] == (s, s):
            return x
""",
           expect=r"must return a new Tensor, not x itself"),
    Mutant(name="flip result is a view of the input (a Tensor that does not copy)", file="dataloader.py", test='test_dataloader_augment.py::test_augmentations_return_a_new_tensor_sharing_no_memory[RandomHorizontalFlip(p=1)]',
           old="            return Tensor(np.flip(x.data, axis=-1).copy())",
           new="            out = Tensor(np.zeros(0, x.data.dtype))\n            out.data = np.flip(x.data, axis=-1)\n            return out",
           expect=r"must share no memory with x(.|\n)*np.flip and slicing return views"),
    Mutant(name="flip writes the mirrored image into the input Tensor", file="dataloader.py", test='test_dataloader_augment.py::test_flip_p1_mirrors_last_axis',
           old="            return Tensor(np.flip(x.data, axis=-1).copy())",
           new="            x.data = np.flip(x.data, axis=-1).copy()\n            return Tensor(x.data)",
           expect=r"the input after RandomHorizontalFlip\(p=1\) has wrong values(.|\n)*must not modify its input"),
    Mutant(name="flip tosses one coin per channel", file="dataloader.py", test='test_dataloader_augment.py::test_flip_happens_with_probability_p',
           old="""        if self.rng.random() < self.p:
            return Tensor(np.flip(x.data, axis=-1).copy())
        return Tensor(x.data.copy())""",
           new="""        out = x.data.copy()
        planes = out.reshape(-1, *out.shape[-2:])
        for c in range(len(planes)):
            if self.rng.random() < self.p:
                planes[c] = planes[c][:, ::-1].copy()
        return Tensor(out)""",
           expect=r"every channel is mirrored, or none is"),
    Mutant(name="crop draws one window per channel", file="dataloader.py", test='test_dataloader_augment.py::test_crop_reaches_every_window_position',
           old="""        top = self.rng.integers(0, h - s + 1)  # high is exclusive: every position possible
        left = self.rng.integers(0, w - s + 1)
        return Tensor(padded[..., top:top + s, left:left + s].copy())""",
           new="""        planes = padded.reshape(-1, h, w)
        out = []
        for plane in planes:
            top = self.rng.integers(0, h - s + 1)
            left = self.rng.integers(0, w - s + 1)
            out.append(plane[top:top + s, left:left + s])
        return Tensor(np.stack(out).reshape(*padded.shape[:-2], s, s))""",
           expect=r"draw one window per call for all leading axes"),
    Mutant(name="flip draws from NumPy's global random state", file="dataloader.py", test='test_dataloader_augment.py::test_augmentations_draw_from_their_own_generator[RandomHorizontalFlip]',
           old="""        self.p = p
        self.rng = np.random.default_rng(seed)""",
           new="""        self.p = p
        np.random.seed(seed)
        self.rng = np.random""",
           expect=r"RandomHorizontalFlip must not touch NumPy's global random state"),
    Mutant(name="crops share one generator (a class attribute)", file="dataloader.py", test='test_dataloader_augment.py::test_augmentations_draw_from_their_own_generator[RandomCrop]',
           old="""        self.padding = int(padding)
        self.rng = np.random.default_rng(seed)""",
           new="""        self.padding = int(padding)
        type(self).rng = np.random.default_rng(seed)""",
           expect=r"called alternately with another one of the same seed"),
    Mutant(name="Compose applies the transforms in reverse", file="dataloader.py", test='test_dataloader_compose.py::test_compose_applies_the_transforms_in_order',
           old="        for transform in self.transforms:\n            x = transform(x)",
           new="        for transform in reversed(self.transforms):\n            x = transform(x)",
           expect=r"you applied them in reverse"),
    Mutant(name="Compose gives every transform the original input", file="dataloader.py", test='test_dataloader_compose.py::test_compose_applies_the_transforms_in_order',
           old="""        for transform in self.transforms:
            x = transform(x)
        return x""",
           new="""        out = x
        for transform in self.transforms:
            out = transform(x)
        return out""",
           expect=r"every transform got the original x"),
    Mutant(name="Compose([]) returns None", file="dataloader.py", test='test_dataloader_compose.py::test_empty_compose_returns_its_input',
           old="""        for transform in self.transforms:
            x = transform(x)
        return x""",
           new="""        out = None
        for transform in self.transforms:
            out = transform(x if out is None else out)
        return out""",
           expect=r"must return x itself(.|\n)*got NoneType"),
    Mutant(name="Compose keeps the caller's list", file="dataloader.py", test='test_dataloader_compose.py::test_compose_keeps_its_own_copy_of_the_list',
           old="self.transforms = tuple(transforms)",
           new="self.transforms = transforms",
           expect=r"must keep its own copy of the transforms"),
    Mutant(name="Compose accepts items that are not callable", file="dataloader.py", test='test_dataloader_compose.py::test_compose_rejects_what_is_not_a_list_of_callables',
           old="            if not callable(transform):",
           new="            if False:",
           expect=r"must raise TypeError in __init__(.|\n)*it was accepted"),
    Mutant(name="Compose does not check for a list (a single transform)", file="dataloader.py", test='test_dataloader_compose.py::test_compose_rejects_what_is_not_a_list_of_callables',
           old="        if not isinstance(transforms, (list, tuple)):",
           new="        if False:",
           expect=r"must name the argument `transforms`(.|\n)*not iterable"),
    Mutant(name="generic path indexes the dataset with the whole index array", file="dataloader.py", test='test_dataloader.py::test_works_with_any_dataset',
           old="items = [self.dataset[int(i)] for i in indices]",
           new="items = list(zip(*self.dataset[indices]))",
           expect=r"must work with any Dataset subclass(.|\n)*fetch the examples one by one"),
    Mutant(name="DataLoader counts the rows of the first tensor, not len(dataset)", file="dataloader.py", test='test_dataloader.py::test_works_with_any_dataset',
           old="""    def __iter__(self):
        n = len(self.dataset)""",
           new="""    def __iter__(self):
        n = len(self.dataset.tensors[0])""",
           expect=r"AttributeError(.|\n)*ask it for its length with len\(dataset\)"),
    Mutant(name="TensorDataset does not subclass Dataset", file="dataloader.py", test='test_dataloader.py::test_tensor_dataset_len_and_items',
           old="class TensorDataset(Dataset):",
           new="class TensorDataset:",
           expect=r"TensorDataset must be a Dataset"),
    Mutant(name="TensorDataset len is the number of tensors", file="dataloader.py", test='test_dataloader.py::test_tensor_dataset_len_and_items',
           old="return len(self.tensors[0]) if self.tensors else 0",
           new="return len(self.tensors)",
           expect=r"len\(TensorDataset\(x, y\)\) must be the number of rows N"),
    Mutant(name="TensorDataset items returned as a list", file="dataloader.py", test='test_dataloader.py::test_tensor_dataset_len_and_items',
           old="return tuple(Tensor(t.data[index]) for t in self.tensors)",
           new="return [Tensor(t.data[index]) for t in self.tensors]",
           expect=r"must be a tuple \(x\[-?\d+\], y\[-?\d+\]\)(.|\n)*got list"),
    Mutant(name="TensorDataset rejects negative indices (as TinyTorch's does)", file="dataloader.py", test='test_dataloader.py::test_tensor_dataset_len_and_items',
           old="return tuple(Tensor(t.data[index]) for t in self.tensors)",
           new="""if index < 0 or index >= len(self):
            raise IndexError(f"index {index} out of range for {len(self)} examples")
        return tuple(Tensor(t.data[index]) for t in self.tensors)""",
           expect=r"negative indices count from the end"),
    Mutant(name="mismatched lengths rejected without naming them", file="dataloader.py", test='test_dataloader.py::test_tensor_dataset_rejects_mismatched_lengths',
           old='f"got lengths {lengths}")',
           new='"got different lengths")',
           expect=r"must name their lengths"),
    Mutant(name="DataLoader serves one epoch only", file="dataloader.py", test='test_dataloader.py::test_epoch_is_partition',
           old="""    def __iter__(self):
        n = len(self.dataset)""",
           new="""    def __iter__(self):
        if getattr(self, "_served", False):
            return iter(())
        self._served = True
        return self._epoch()

    def _epoch(self):
        n = len(self.dataset)""",
           expect=r"must be a whole new epoch(.|\n)*keep no position in the loader"),
    Mutant(name="batches cast to float32", file="dataloader.py", test='test_dataloader.py::test_epoch_is_partition',
           old="return tuple(Tensor(t.data[indices]) for t in self.dataset.tensors)",
           new="return tuple(Tensor(t.data[indices].astype(np.float32)) for t in self.dataset.tensors)",
           expect=r"The index field of batch 0 has the wrong dtype(.|\n)*batching must keep the dataset's dtype"),
    Mutant(name="drop_last drops a full last batch too", file="dataloader.py", test='test_dataloader.py::test_batch_sizes_and_drop_last',
           old="if self.drop_last and len(indices) < self.batch_size:",
           new="if self.drop_last and start + self.batch_size >= n:",
           expect=r"drops only a final batch SMALLER than batch_size"),
    Mutant(name="len() ignores drop_last", file="dataloader.py", test='test_dataloader.py::test_len_is_number_of_batches',
           old="return n // b if self.drop_last else (n + b - 1) // b",
           new="return (n + b - 1) // b",
           expect=r"with drop_last=True, len\(loader\) is floor"),
    Mutant(name="shuffles even when shuffle=False", file="dataloader.py", test='test_dataloader.py::test_no_shuffle_keeps_dataset_order',
           old="order = self.rng.permutation(n) if self.shuffle else np.arange(n)",
           new="order = self.rng.permutation(n)",
           expect=r"With shuffle=False the examples must come in dataset order"),
    Mutant(name="shuffle defaults to True", file="dataloader.py", test='test_dataloader.py::test_loader_defaults',
           old="def __init__(self, dataset, batch_size: int = 32, shuffle: bool = False,",
           new="def __init__(self, dataset, batch_size: int = 32, shuffle: bool = True,",
           expect=r"must not shuffle \(shuffle=False by default\)"),
    Mutant(name="flip p defaults to 1", file="dataloader.py", test='test_dataloader_augment.py::test_flip_happens_with_probability_p',
           old="def __init__(self, p: float = 0.5, seed=None):",
           new="def __init__(self, p: float = 1.0, seed=None):",
           expect=r"must flip with p=0.5 by default"),
    Mutant(name="crop padding defaults to 4 (TinyTorch's default)", file="dataloader.py", test='test_dataloader_augment.py::test_crop_full_size_without_padding_is_identity',
           old="def __init__(self, size: int, padding: int = 0, seed=None):",
           new="def __init__(self, size: int, padding: int = 4, seed=None):",
           expect=r"padding by default(.|\n)*padding defaults to 0"),
    Mutant(name="crop slices the first two axes", file="dataloader.py", test='test_dataloader_augment.py::test_crop_is_a_window_of_padded_input',
           old="return Tensor(padded[..., top:top + s, left:left + s].copy())",
           new="return Tensor(padded[top:top + s, left:left + s].copy())",
           expect=r"has the wrong shape(.|\n)*crop only the last two axes"),
    Mutant(name="crop pads onto a float64 canvas", file="dataloader.py", test='test_dataloader_augment.py::test_crop_is_a_window_of_padded_input',
           old="padded = np.pad(x.data, pad)",
           new="""h0, w0 = x.data.shape[-2:]
        padded = np.zeros(x.data.shape[:-2] + (h0 + 2 * p, w0 + 2 * p))
        padded[..., p:p + h0, p:p + w0] = x.data""",
           expect=r"has the wrong dtype(.|\n)*must keep the image's dtype"),
    Mutant(name="crop clamps a window that does not fit", file="dataloader.py", test='test_dataloader_augment.py::test_crop_larger_than_padded_image_raises',
           old="""        if s > h or s > w:
            raise""",
           new="""        h, w = max(h, s), max(w, s)
        if s > h or s > w:
            raise""",
           expect=r"must raise ValueError"),
    Mutant(name="Compose accepts only lists", file="dataloader.py", test='test_dataloader_compose.py::test_compose_applies_the_transforms_in_order',
           old="if not isinstance(transforms, (list, tuple)):",
           new="if not isinstance(transforms, list):",
           expect=r"must accept a list or a tuple of callables"),
    Mutant(name="Compose accepts only plain functions", file="dataloader.py", test='test_dataloader_compose.py::test_compose_chains_the_augmentations',
           old="            if not callable(transform):",
           new="            if not hasattr(transform, '__code__'):",
           expect=r"must accept any callable"),
]
