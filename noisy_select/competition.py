"""The competition notebook's fixed "DO NOT CHANGE" cells, behaving exactly as they do.

Names and signatures follow the seed notebook. Backwards-compatible deviations: ``load_data``
and ``unpack_data`` take their paths, ``performance`` returns the points, both loops take an
``epoch_hook`` that changes nothing trained, and ``SmallMobileNet`` is the official
architecture (docs/TASK.md section 4), not the seed's display version. ``train`` is the seed
notebook's loop, ``train_official`` the organizers' (``OlimpiadaAI/II-OlimpiadaAI``,
``1_etap/4_szum_w_etykietach_danych``), which the platform runs.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torchvision.transforms as transforms
from PIL import Image
from sklearn.metrics import balanced_accuracy_score
from torch.utils.data import DataLoader
from torchvision.datasets.folder import VisionDataset
from tqdm import tqdm

SEED = 123
IMAGES_DIR = "data"
TASK_DATASET_LABELS_FILE = "dataset_labels.csv"

ROOT_DIR = os.getcwd()
TRAIN_DATASET_PATH = os.path.join(ROOT_DIR, "train")
VAL_DATASET_PATH = os.path.join(ROOT_DIR, "val")

TRAIN_DATASET_URL = "1qmNNmDv-wUcAv5mvO6vYJV3mQ2SNIGnI"
VAL_DATASET_URL = "1YUJYD12NmKRSzFJGMrX-a61d6mnTaWbG"

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
LEARNING_RATE = 1e-2
NUM_EPOCHS = 6
NUM_CLASSES = 2
BATCH_SIZE = 128
WEIGHT_DECAY = 1e-3

# A selection strategy: (targets, [loss_1, loss_2]) -> [indices for model 1, for model 2].
SelectIndices = Callable[[torch.Tensor, list[torch.Tensor]], list[torch.Tensor]]
# Runs inside the loop after each epoch: (epoch, model1, model2).
EpochHook = Callable[[int, nn.Module, nn.Module], None]
# "seed": the seed notebook's train and execution cell; "official": the organizers' ones.
LOOPS = ("seed", "official")


def seed_everything(seed: int) -> None:
    """Seed Python's hash, numpy and torch, and make cuDNN deterministic (the seed's cell)."""
    os.environ["PYTHONHASHSEED"] = str(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def download_data(dataset_path: str, dataset_url: str) -> None:
    """Download ``dataset_path + ".zip"`` from Google Drive (the seed's cell)."""
    import gdown

    output = dataset_path + ".zip"
    if os.path.exists(dataset_path):
        shutil.rmtree(dataset_path)
    if os.path.exists(output):
        os.remove(output)
    url = f"https://drive.google.com/uc?id={dataset_url}"
    gdown.download(url, output, fuzzy=True)  # type: ignore[call-arg]  # as the seed calls it
    print(f"Downloaded: {output}")


class TaskDataset(VisionDataset):
    """A split folder's images (``data/*.png``) and labels (``dataset_labels.csv``:
    ``file_name,label``), each image passed through ``transform`` (the seed's cell)."""

    def __init__(self, root: str, transform: Callable | None = None):
        super().__init__(root, transform=transform)
        self.root = root
        self.labels_df = pd.read_csv(os.path.join(self.root, TASK_DATASET_LABELS_FILE))

    def __len__(self) -> int:
        return len(self.labels_df)

    def __getitem__(self, idx: int) -> tuple[Image.Image, np.ndarray]:
        img_path = os.path.join(self.root, IMAGES_DIR, self.labels_df.iloc[idx]["file_name"])
        img = Image.open(img_path)
        label = self.labels_df.iloc[idx]["label"]
        if self.transform is not None:
            img = self.transform(img)
        return img, np.array([int(label)])


def unpack_data(unpack_path: str, dataset_name: str, zip_dir: str | None = None) -> None:
    """Extract ``<zip_dir>/<dataset_name>.zip`` into ``unpack_path`` unless already there."""
    dataset_zip_path = os.path.join(zip_dir or ROOT_DIR, dataset_name + ".zip")
    if not os.path.exists(os.path.join(unpack_path, dataset_name)):
        with zipfile.ZipFile(dataset_zip_path, "r") as zip_ref:
            zip_ref.extractall(unpack_path)


def load_data(
    train_path: str = TRAIN_DATASET_PATH, val_path: str = VAL_DATASET_PATH
) -> tuple[DataLoader, DataLoader]:
    """Train and validation loaders, unshuffled, batch size 128, ``ToTensor`` only."""
    base_transform = transforms.Compose([transforms.ToTensor()])
    train_dataset = TaskDataset(root=train_path, transform=base_transform)
    val_dataset = TaskDataset(root=val_path, transform=base_transform)
    train_loader: DataLoader = DataLoader(dataset=train_dataset, batch_size=BATCH_SIZE, shuffle=False)
    val_loader: DataLoader = DataLoader(dataset=val_dataset, batch_size=BATCH_SIZE, shuffle=False)
    return train_loader, val_loader


def _conv_bn(cin: int, cout: int, kernel: int, stride: int, groups: int) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=True),
    ]


class SmallMobileNet(nn.Module):
    """The official competition network (docs/TASK.md section 4): 79,874 trainable parameters."""

    def __init__(self, num_classes: int = NUM_CLASSES):
        super().__init__()
        self.features = nn.Sequential(
            *_conv_bn(1, 32, 3, 1, 1),
            *_conv_bn(32, 32, 3, 1, 32),
            *_conv_bn(32, 64, 1, 1, 1),
            *_conv_bn(64, 64, 3, 2, 64),
            *_conv_bn(64, 128, 1, 1, 1),
            *_conv_bn(128, 128, 3, 2, 128),
            *_conv_bn(128, 256, 1, 1, 1),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(256, 128),
            nn.ReLU6(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(128, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.pool(x)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x


def predict_and_evaluate(
    model: nn.Module, val_loader: Iterable, device: torch.device | str, verbose: bool = False
) -> float:
    """Balanced accuracy of ``model`` on ``val_loader`` (the seed's cell)."""
    model.eval()
    all_preds: list = []
    all_targets: list = []
    with torch.no_grad():
        for inputs, targets in val_loader:
            inputs, targets = inputs.to(device), targets.to(device)
            outputs = model(inputs)
            preds = torch.argmax(outputs, dim=1)
            all_preds.extend(preds.cpu().numpy())
            all_targets.extend(targets.cpu().numpy())
    bac = balanced_accuracy_score(all_targets, all_preds)
    if verbose:
        print(f"Balanced Accuracy: {bac}")
    return float(bac)


def points(bac_1: float, bac_2: float) -> int:
    """The competition's points for two balanced accuracies (0 to 100)."""
    bac_mean = (bac_1 + bac_2) / 2
    if bac_mean <= 0.5:
        return 0
    if bac_mean < 0.8:
        return int(round((bac_mean - 0.5) / 0.3 * 100))
    return 100


def performance(bac_1: float, bac_2: float) -> int:
    """Print the final score as the seed does, and return the points."""
    result = points(bac_1, bac_2)
    print(f"Final Score: {result}/100")
    return result


def train(
    model1: nn.Module,
    model2: nn.Module,
    optimizer1: torch.optim.Optimizer,
    optimizer2: torch.optim.Optimizer,
    criterion: nn.Module,
    train_loader: Iterable,
    val_loader: Any,
    num_epochs: int,
    device: torch.device | str,
    select_indices_fn: SelectIndices,
    epoch_hook: EpochHook | None = None,
    progress: bool = True,
) -> dict:
    """The seed notebook's training loop. ``epoch_hook(epoch, model1, model2)`` runs after each
    epoch and must not train (the random generators are restored after it); ``progress=False``
    hides the tqdm bar."""
    for epoch in range(1, num_epochs + 1):
        model1.train()
        model2.train()
        pbar = tqdm(train_loader, desc=f"Epoch {epoch}", disable=not progress)
        for inputs, targets in pbar:
            inputs, targets = inputs.to(device), targets.squeeze().long().to(device)
            outputs = [m(inputs) for m in (model1, model2)]
            losses = [criterion(out, targets) for out in outputs]

            selected_indices = select_indices_fn(targets, losses)

            for i, (model, optim) in enumerate([(model1, optimizer1), (model2, optimizer2)]):
                optim.zero_grad()
                sel = selected_indices[i]
                if len(sel) > 0:
                    loss = criterion(model(inputs[sel]), targets[sel]).mean()
                    loss.backward()
                    optim.step()
        _run_hook(epoch_hook, epoch, model1, model2)
    return {}


def _run_hook(epoch_hook: EpochHook | None, epoch: int, model1: nn.Module, model2: nn.Module) -> None:
    if epoch_hook is None:
        return
    # Iterating a DataLoader draws a seed from torch's global generator, which would shift
    # the dropout masks of later epochs: restore the generators afterwards.
    cpu_state = torch.get_rng_state()
    cuda_state = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    epoch_hook(epoch, model1, model2)
    torch.set_rng_state(cpu_state)
    if cuda_state is not None:
        torch.cuda.set_rng_state_all(cuda_state)


def train_official(
    model1: nn.Module,
    model2: nn.Module,
    optimizer1: torch.optim.Optimizer,
    optimizer2: torch.optim.Optimizer,
    criterion: nn.Module,
    train_loader: Iterable,
    val_loader: Any,
    num_epochs: int,
    device: torch.device | str,
    select_indices_fn: SelectIndices,
    *,
    final_evaluation_mode: bool = True,
    epoch_hook: EpochHook | None = None,
    progress: bool = True,
) -> dict:
    """The organizers' training loop (their task notebook's ``train``), which the platform runs.

    Exactly their semantics: every model steps on every batch, an empty selection included
    (NaN loss, zero gradients, AdamW still moves the weights); outside final evaluation mode a
    validation pass after each epoch, which draws from torch's generator and so shifts later
    dropout masks. Returned instead of plotted: the per-epoch metrics. ``epoch_hook`` and
    ``progress`` as in ``train``.
    """
    verbose = not final_evaluation_mode
    metrics: dict = {k: [[], []] for k in ["train_loss", "val_loss", "train_bac", "val_bac"]}
    for epoch in np.arange(num_epochs) + 1:
        if progress:
            print(f"Epoch {epoch}")
        stats = {k: [0, 0] for k in ["train_loss", "train_total", "val_loss", "val_total"]}
        preds_targets: dict = {
            k: [[], []] for k in ["train_preds", "train_targets", "val_preds", "val_targets"]
        }
        model1.train(), model2.train()
        for inputs, targets in tqdm(train_loader, desc=f"Epoch {epoch}/{num_epochs}",
                                    disable=not progress):
            inputs, targets = inputs.to(device), targets.squeeze().long().to(device)
            outputs = [m(inputs) for m in (model1, model2)]
            losses = [criterion(out, targets) for out in outputs]

            selected_indices = select_indices_fn(targets, losses)

            for i, (model, optim) in enumerate([(model1, optimizer1), (model2, optimizer2)]):
                optim.zero_grad()
                sel_idx = selected_indices[i]
                loss = criterion(model(inputs[sel_idx]), targets[sel_idx]).mean()
                loss.backward()
                optim.step()

                stats["train_loss"][i] += loss.item() * len(sel_idx)
                stats["train_total"][i] += len(sel_idx)
                preds = outputs[i].max(1)[1]
                preds_targets["train_preds"][i].extend(preds[sel_idx].cpu().numpy())
                preds_targets["train_targets"][i].extend(targets[sel_idx].cpu().numpy())

        if verbose:
            model1.eval(), model2.eval()
            with torch.no_grad():
                for inputs, targets in tqdm(val_loader, desc=f"Validation {epoch}/{num_epochs}",
                                            disable=not progress):
                    inputs, targets = inputs.to(device), targets.squeeze().long().to(device)
                    for i, model in enumerate([model1, model2]):
                        outputs = model(inputs)
                        loss = criterion(outputs, targets).mean()
                        stats["val_loss"][i] += loss.item() * inputs.size(0)
                        stats["val_total"][i] += inputs.size(0)
                        preds = outputs.max(1)[1]
                        preds_targets["val_preds"][i].extend(preds.cpu().numpy())
                        preds_targets["val_targets"][i].extend(targets.cpu().numpy())
            for i in range(2):
                for phase in ["train", "val"]:
                    metrics[f"{phase}_loss"][i].append(
                        stats[f"{phase}_loss"][i] / stats[f"{phase}_total"][i])
                    metrics[f"{phase}_bac"][i].append(balanced_accuracy_score(
                        preds_targets[f"{phase}_targets"][i], preds_targets[f"{phase}_preds"][i]))
                if progress:
                    print(f"Model{i+1} - Train Loss: {metrics['train_loss'][i][-1]:.4f}, "
                          f"Train balanced accuracy: {metrics['train_bac'][i][-1]:.4f} --- "
                          f"Validation Loss: {metrics['val_loss'][i][-1]:.4f}, "
                          f"Validation balanced accuracy: {metrics['val_bac'][i][-1]:.4f}, ")
        _run_hook(epoch_hook, int(epoch), model1, model2)
    return metrics


def default_select_indices(targets: torch.Tensor, losses: list[torch.Tensor]) -> list[torch.Tensor]:
    """The seed's baseline: every sample for both models."""
    return [torch.arange(targets.shape[0]).to(DEVICE) for _ in range(2)]


def final_evaluate(evaluate_data_path: str, model1: nn.Module, model2: nn.Module) -> int:
    """Score both models on a split folder as the platform does; returns the points."""
    base_transform = transforms.Compose([transforms.ToTensor()])
    loader: DataLoader = DataLoader(
        TaskDataset(evaluate_data_path, transform=base_transform), batch_size=BATCH_SIZE
    )
    b1 = predict_and_evaluate(model1, loader, DEVICE, verbose=True)
    b2 = predict_and_evaluate(model2, loader, DEVICE, verbose=True)
    return performance(b1, b2)
