"""GAN image generation: DCGAN, WGAN-GP, a conditional DCGAN, and an MLP GAN for 2-D toy data.

Metadata only: importing this imports no torch.
"""

from zoo.plugins import Model, Task

_IMAGE_MODEL = {"latent_dim": 100, "width": 64}

task = Task(
    name="gan",
    summary="GAN image generation: sample grids, latent interpolations, FID/KID; 2-D toy data with mode coverage",
    aliases=("image-generation",),
    models={
        "dcgan": Model(
            builder="zoo_tasks.gan.models:dcgan",
            summary="DCGAN (Radford et al. 2015), scaled to the image size (6.3 M parameters at 64x64 RGB, 0.9 M for MNIST)",
            params=None,
            defaults={**_IMAGE_MODEL, "conditional": False, "loss": "gan", "critic_steps": 1},
        ),
        "wgan-gp": Model(
            builder="zoo_tasks.gan.models:wgan_gp",
            summary="WGAN-GP (Gulrajani et al. 2017): DCGAN's networks, a critic without batch norm, gradient penalty, 5 critic steps",
            params=None,
            defaults={**_IMAGE_MODEL, "conditional": False, "loss": "wgan-gp", "critic_steps": 5, "gp_weight": 10.0},
            overrides={"optim": {"lr": 1e-4, "betas": [0.0, 0.9]}},
        ),
        "cdcgan": Model(
            builder="zoo_tasks.gan.models:dcgan",
            summary="Class-conditional DCGAN: the label joins the noise (one-hot) and the discriminator's input (one-hot planes)",
            params=None,
            defaults={**_IMAGE_MODEL, "conditional": True, "loss": "gan", "critic_steps": 1},
        ),
        "mlp-gan": Model(
            builder="zoo_tasks.gan.models:mlp_gan",
            summary="An MLP GAN for 2-D toy data; its discriminator judges 2 samples at once (PacGAN) against mode collapse",
            params=67_459,
            defaults={"latent_dim": 2, "hidden": 128, "layers": 3, "pack": 2, "loss": "gan", "critic_steps": 1},
            tags=("cpu-friendly", "toy"),
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
    defaults={
        "data": {
            "toy": "ring",  # without data.path: ring (8 Gaussians) or grid (25)
            "toy_points": 51_200,  # training points drawn from it
            "image_column": None,
            "label_column": None,
            "val_fraction": 0.1,
            "val_split": "random",
            "val_path": None,
            "image_size": None,  # default: the data's own size (at most 64 pixels a side)
            "batch_size": 64,
        },
        "metrics": {"features": "auto"},  # auto, inception, none, or a zoo image model's run folder
        "optim": {"name": "adam", "lr": 2e-4, "betas": [0.5, 0.999], "discriminator_lr": None},
        "trainer": {"max_epochs": 20},
    },
    template="gan",
    demo={"model": {"name": "mlp-gan"}},
    path_keys=("metrics.features",),
)
