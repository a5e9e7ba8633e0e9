"""GAN image generation: DCGAN, WGAN-GP, a conditional DCGAN, and an MLP GAN for 2-D toy data.

Metadata only: importing this imports no torch.
"""

from zoo.plugins import Model, Setting, Task
from zoo.shared_settings import HOLD_OUT, HOLD_OUT_ORDER, IMAGE_COLUMNS

_IMAGE_MODEL = {
    "latent_dim": Setting(100, "the noise vector's size", range="[1, inf)"),
    "width": Setting(64, "channels of the discriminator's first layer and the generator's last (doubled at each halving)", range="[1, inf)"),
}

task = Task(
    name="gan",
    summary="GAN image generation: sample grids, latent interpolations, FID/KID; 2-D toy data with mode coverage",
    aliases=("image-generation",),
    models={
        "dcgan": Model(
            builder="zoo_tasks.gan.models:dcgan",
            summary="DCGAN (Radford et al. 2015), scaled to the image size (6.3 M parameters at 64x64 RGB, 0.9 M for MNIST)",
            params=None,
            settings=_IMAGE_MODEL,
        ),
        "wgan-gp": Model(
            builder="zoo_tasks.gan.models:wgan_gp",
            summary="WGAN-GP (Gulrajani et al. 2017): DCGAN's networks, a critic without batch norm, gradient penalty, 5 critic steps",
            params=None,
            settings=_IMAGE_MODEL,
            overrides={"model": {"loss": "wgan-gp", "critic_steps": 5}, "optim": {"lr": 1e-4, "betas": [0.0, 0.9]}},
        ),
        "cdcgan": Model(
            builder="zoo_tasks.gan.models:dcgan",
            summary="Class-conditional DCGAN: the label joins the noise (one-hot) and the discriminator's input (one-hot planes)",
            params=None,
            settings=_IMAGE_MODEL,
            overrides={"model": {"conditional": True}},
        ),
        "mlp-gan": Model(
            builder="zoo_tasks.gan.models:mlp_gan",
            summary="An MLP GAN for 2-D toy data; its discriminator judges 2 samples at once (PacGAN) against mode collapse",
            params=67_459,
            settings={
                "latent_dim": Setting(2, "the noise vector's size", range="[1, inf)"),
                "hidden": Setting(128, "units in each hidden layer of both networks", range="[1, inf)"),
                "layers": Setting(3, "hidden layers of each network", range="[1, inf)"),
                "pack": Setting(2, "samples the discriminator judges at once (PacGAN)", range="[1, inf)"),
            },
            tags=("cpu-friendly", "toy"),
            module="zoo_tasks.gan.toy_module:ToyGanModule",
            data="zoo_tasks.gan.toy:build_data",
            monitor="val/balanced_hq",
            mode="max",
            overrides={"optim": {"lr": 1e-3, "scheduler": "cosine"}, "data": {"batch_size": 256}, "trainer": {"max_epochs": 80}},
        ),
    },
    default_model="dcgan",
    module="zoo_tasks.gan.module:GanModule",
    data="zoo_tasks.gan.data:build_data",
    monitor="val/fid",
    mode="min",
    settings={
        "model.loss": Setting("gan", "gan: the non-saturating loss (Goodfellow et al. 2014); wgan-gp: the Wasserstein loss with a gradient penalty", choices=("gan", "wgan-gp")),
        "model.critic_steps": Setting(1, "discriminator steps per generator step", range="[1, inf)"),
        "model.gp_weight": Setting(10.0, "wgan-gp: the gradient penalty's weight", range="[0, inf)"),
        "model.conditional": Setting(False, "condition both networks on the class label (image folders or tables of two or more classes)"),
        "data.toy": Setting("ring", "without data.path: the 2-D toy distribution, a ring of 8 Gaussians or a grid of 25", choices=("ring", "grid")),
        "data.toy_points": Setting(51_200, "training points drawn from data.toy", range="[1, inf)"),
        **IMAGE_COLUMNS,
        **{key: setting for key, setting in HOLD_OUT.items() if key != "data.test_path"},
        **HOLD_OUT_ORDER,
        "data.image_size": Setting(None, "the side, or [height, width], generated (default: the data's own size, at most 64 a side)", type=(int, list), item=int, length=2, range="[1, inf)"),
        "metrics.features": Setting(
            "auto", "FID and KID's feature space: auto, inception (downloaded weights), none, or a zoo image model's run folder", choices=("auto", "inception", "none"), path=True
        ),
        "optim.discriminator_lr": Setting(None, "the discriminator's learning rate (default: optim.lr)", type=float, range="(0, inf)"),
    },
    choices={"optim.scheduler": ("none", "step", "cosine")},
    defaults={
        "data": {"max_batch_size": 64},
        "optim": {"name": "adam", "lr": 2e-4, "betas": [0.5, 0.999]},
        "trainer": {"max_epochs": 20},
    },
    template="gan",
    demo={"model": {"name": "mlp-gan"}},
)
