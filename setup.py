"""Packaging for vertical_tune.

`industry_presets/` and `templates/` live at the top of the repository and are
installed as the subpackages `vertical_tune.industry_presets` and
`vertical_tune.templates`, so a plain `pip install .` ships them.
"""

from setuptools import setup

setup(
    name="vertical-tune",
    version="0.1.0",
    description="Fine-tune a pretrained Transformer into a domain model for one industry.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=[
        "vertical_tune",
        "vertical_tune.backbones",
        "vertical_tune.cli",
        "vertical_tune.compression",
        "vertical_tune.config",
        "vertical_tune.data",
        "vertical_tune.distillation",
        "vertical_tune.evaluation",
        "vertical_tune.export",
        "vertical_tune.modeling",
        "vertical_tune.project",
        "vertical_tune.registry",
        "vertical_tune.reporting",
        "vertical_tune.distribute",
        "vertical_tune.retrain",
        "vertical_tune.schedule",
        "vertical_tune.training",
        "vertical_tune.industry_presets",
        "vertical_tune.templates",
    ],
    package_dir={
        "vertical_tune.industry_presets": "industry_presets",
        "vertical_tune.templates": "templates",
    },
    package_data={
        "vertical_tune.industry_presets": ["*.yaml"],
        "vertical_tune.templates": ["*", "*/*", "*/*/*"],
    },
    include_package_data=True,
    # Ranges are the versions this project is tested with (see .ci/run).
    install_requires=[
        "tensorflow>=2.18,<2.22",
        "keras>=3.10,<3.16",
        "keras-hub>=0.22,<0.33",
        "tensorflow-text>=2.18,<2.22",
        "tensorboard>=2.18,<2.22",
        "safetensors>=0.4,<1",
        "tensorflow-datasets>=4.9,<4.10",
        "importlib_resources>=6",
        "pydantic>=2.6,<3",
        "typer>=0.12,<0.30",
        "rich>=13,<16",
        "pandas>=2.0,<4",
        "pyarrow>=14,<27",
        "scikit-learn>=1.4,<1.10",
        "scipy>=1.11,<2",
        "matplotlib>=3.8,<3.12",
        "pyyaml>=6,<7",
        "jinja2>=3.1,<4",
        # Retraining jobs: the project lock and cron expressions.
        "filelock>=3.12,<5",
        "croniter>=2,<7",
        "nbformat>=5.9,<6",
        # Export: ONNX (tf2onnx converts, onnxruntime loads and quantises) and LiteRT.
        "tf2onnx>=1.16,<1.18",
        "onnx>=1.16,<1.24",
        "onnxruntime>=1.18,<1.33",
        "ai-edge-litert>=1.2,<2.4",
    ],
    extras_require={"test": ["pytest>=8,<10"]},
    entry_points={"console_scripts": ["vtune=vertical_tune.cli.main:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
