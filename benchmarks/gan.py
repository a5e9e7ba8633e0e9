"""GAN results: mode coverage on the ring of 8 Gaussians, and DCGAN on MNIST with FID in a zoo
MNIST classifier's feature space beside the real-data floor.

    uv run python benchmarks/gan.py ring  [--seeds 0 1 2]
    uv run python benchmarks/gan.py mnist [--data-root ../shared/data] [--epochs N] [--classifier-epochs 3]
    uv run python benchmarks/gan.py throughput [--data-root ../shared/data] [--repeat 3] [--epochs 2]

ring:  `zoo train gan` (gan/mlp-gan on the embedded ring, defaults) once per seed; prints modes
       covered (of 8), the share of high-quality samples (within 3 standard deviations of a
       mode) of the kept checkpoint, per seed, and the fit time. Target: 8/8 modes and >= 90%
       high-quality samples within 2 minutes.
mnist: the MNIST test images of `<data-root>/mnist` (the training images are not in the shared
       data): first `zoo train classification` on them (first 8,000 train, last 2,000 validate),
       then `zoo train gan/dcgan` on the same split with metrics.features=<that run>; prints FID
       and KID per epoch beside the floor (real training images against the validation images)
       and the times. Target: within 20 minutes.
throughput: training images per second of `zoo train gan/dcgan` against a hand-written PyTorch
       loop on the same networks (`zoo_tasks.gan.models.dcgan`, 28x28), data (the same 8,000 MNIST
       images as uint8 tensors), batch size, losses (non-saturating, one discriminator step per
       generator step) and optimizers (Adam 2e-4, betas 0.5/0.999), without FID
       (metrics.features=none). After every epoch both draw the 2,000 validation-sized samples
       from fixed noise, check them finite and write a 64-sample grid. Alternating in one process
       after a warm-up; prints medians and the ratio zoo/loop (1.0 = as fast).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
from torchvision.utils import save_image

import zoo
from zoo.images import read_idx
from zoo_tasks.gan.models import dcgan

OUTPUT = Path(tempfile.mkdtemp(prefix="zoo-bench-gan-"))


def ring(args: argparse.Namespace) -> None:
    print(f"gan/mlp-gan on the ring of 8 Gaussians, defaults, torch {torch.__version__}, {torch.get_num_threads()} threads")
    seconds = []
    for seed in args.seeds:
        run = zoo.train("gan", output=OUTPUT, seed=seed, progress=False)
        val = run.metrics["val"]
        seconds.append(run.seconds)
        print(f"  seed {seed}: {val['modes']:.0f}/8 modes, {val['hq']:.2%} high-quality (balanced {val['balanced_hq']:.2%}); fit {run.seconds:.1f} s, {run.epochs} epochs; {run.path}")
    print(f"  median fit {statistics.median(seconds):.1f} s")


def mnist(args: argparse.Namespace) -> None:
    data = (args.data_root / "mnist").resolve()
    split = {"data.val_split": "last", "data.val_fraction": 0.2}
    started = time.perf_counter()
    classifier = zoo.train("classification", data=data, output=OUTPUT, max_epochs=args.classifier_epochs, progress=False, overrides=split)
    print(f"feature space: classification/cnn on MNIST, {classifier.epochs} epochs, val acc {classifier.metrics['val']['acc']:.2%}, fit {classifier.seconds:.1f} s")
    gan = zoo.train("gan/dcgan", data=data, output=OUTPUT, max_epochs=args.epochs, progress=False,
                    overrides={**split, "metrics.features": str(classifier.path)})
    total = time.perf_counter() - started
    rows = list(csv.DictReader((gan.path / "logs" / "metrics.csv").open()))
    print(f"gan/dcgan on MNIST (8,000 train, 2,000 validate), {gan.epochs} epochs:")
    for row in (r for r in rows if r.get("val/fid")):
        print(f"  epoch {int(float(row['epoch'])) + 1:3d}: FID {float(row['val/fid']):.3f}  KID {float(row['val/kid']):.5f}"
              f"  (floor: FID {float(row['val/fid_floor']):.3f}, KID {float(row['val/kid_floor']):.5f})")
    val = gan.metrics["val"]
    print(f"  kept checkpoint: FID {val['fid']:.3f} (floor {val['fid_floor']:.3f}), KID {val['kid']:.5f} ± {val['kid_std']:.5f} (floor {val['kid_floor']:.5f})")
    print(f"  DCGAN fit {gan.seconds:.1f} s; classifier and DCGAN together {total:.1f} s")
    print(f"  sample grid: {gan.path / 'plots' / 'samples.png'}; interpolation: {gan.path / 'plots' / 'interpolation.png'}")


TRAIN, VAL = 8000, 2000


def hand_loop(images: torch.Tensor, epochs: int, batch: int, output: Path) -> float:
    """Seconds for a plain DCGAN loop with per-epoch samples, as a person would write it."""
    torch.manual_seed(0)
    started = time.perf_counter()
    train = DataLoader(TensorDataset(images), batch_size=batch, shuffle=True)
    gan = dcgan(channels=1, image_size=[28, 28])
    opt_g = torch.optim.Adam(gan.generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(gan.discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    fixed = torch.randn(VAL, gan.latent_dim, generator=torch.Generator().manual_seed(0))
    for epoch in range(epochs):
        gan.train()
        for (x,) in train:
            real = x.float() / 127.5 - 1
            fake = gan.generator(torch.randn(len(real), gan.latent_dim))
            d_loss = F.softplus(-gan.discriminator(real)).mean() + F.softplus(gan.discriminator(fake.detach())).mean()
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            g_loss = F.softplus(-gan.discriminator(fake)).mean()
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
        gan.eval()
        with torch.no_grad():
            samples = torch.cat([(gan.generator(z) + 1) / 2 for z in fixed.split(batch)])
        if not torch.isfinite(samples).all():
            raise RuntimeError(f"the hand loop's samples are not finite after epoch {epoch + 1}")
        save_image(samples[:64], output / f"loop-epoch-{epoch + 1:03d}.png", nrow=8, padding=2, pad_value=0.5)
    return time.perf_counter() - started


def throughput(args: argparse.Namespace) -> None:
    data = (args.data_root / "mnist").resolve()
    images = read_idx(data / "t10k-images-idx3-ubyte.gz").unsqueeze(1)[:TRAIN]
    overrides = {"data.val_split": "last", "data.val_fraction": VAL / (TRAIN + VAL), "data.batch_size": args.batch_size, "metrics.features": "none"}

    def zoo_fit(epochs: int) -> float:
        return zoo.train("gan/dcgan", data=data, output=OUTPUT, max_epochs=epochs, progress=False, overrides=overrides).seconds

    hand_loop(images, 1, args.batch_size, OUTPUT)  # warm-up both
    zoo_fit(1)
    zoo_seconds, loop_seconds = [], []
    for _ in range(args.repeat):
        zoo_seconds.append(zoo_fit(args.epochs))
        loop_seconds.append(hand_loop(images, args.epochs, args.batch_size, OUTPUT))
    seen = TRAIN * args.epochs
    zoo_rate, loop_rate = seen / statistics.median(zoo_seconds), seen / statistics.median(loop_seconds)
    print(f"gan/dcgan on MNIST, {TRAIN:,} train images, batch {args.batch_size}, {args.epochs} epochs, cpu; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads; median of {args.repeat}")
    print(f"  zoo train:    {zoo_rate:8.0f} images/s  (fits: {', '.join(f'{s:.1f}' for s in zoo_seconds)} s)")
    print(f"  hand loop:    {loop_rate:8.0f} images/s  (fits: {', '.join(f'{s:.1f}' for s in loop_seconds)} s)")
    print(f"  zoo / loop:   {zoo_rate / loop_rate:8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    ring_parser = commands.add_parser("ring")
    ring_parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    mnist_parser = commands.add_parser("mnist")
    mnist_parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    mnist_parser.add_argument("--epochs", type=int, default=None, help="default: the task's (20)")
    mnist_parser.add_argument("--classifier-epochs", type=int, default=3)
    throughput_parser = commands.add_parser("throughput")
    throughput_parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    throughput_parser.add_argument("--repeat", type=int, default=3)
    throughput_parser.add_argument("--epochs", type=int, default=2)
    throughput_parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    {"ring": ring, "mnist": mnist, "throughput": throughput}[args.command](args)


if __name__ == "__main__":
    main()
