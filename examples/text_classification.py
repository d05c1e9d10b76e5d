"""Fine-tune a pretrained Transformer for text classification, offline.

A frequently copied snippet tried to do this with
`tf.keras.applications.Transformer(pretrained=True)`, which does not exist, left
`max_sequence_length`, `num_classes` and the data undefined, and put a `Dense`
layer on the whole token sequence. What it meant, done properly:

1. A pretrained encoder (MiniLM-L6, BERT architecture) with its own tokenizer.
2. A classification head on the pooled first-token (`[CLS]`) vector, one logit per class.
3. Compile (AdamW with warm-up), fit on labelled texts, evaluate on held-out texts.

Run it from the repository root after `bash scripts/setup.sh`:

    .venv/bin/python examples/text_classification.py

It uses 2,000 tweets of the Twitter financial news data set and takes a few
minutes on 2 CPU cores. That is too little data for a good model (macro-F1 about
0.54), so use scripts/demo.sh for the full job.
"""

from pathlib import Path

from vertical_tune import FineTuner

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "twitter_financial_news_sentiment"
MAX_SEQUENCE_LENGTH = 64
TRAIN_ROWS = 2000


def main():
    tuner = FineTuner.from_preset(
        "finance",
        data={
            "train": str(DATA / "sent_train.csv"),
            "validation": str(DATA / "sent_valid.csv"),
            "max_train_rows": TRAIN_ROWS,
        },
        backbone={"preset": "minilm_l6_offline", "sequence_length": MAX_SEQUENCE_LENGTH},
        training={"epochs": 1},
        output={"compare_baseline": False},
    )
    tuner.fit()

    # The Keras model behind it: backbone -> [CLS] vector -> dropout -> Dense(num_classes).
    tuner.model.summary()

    report = tuner.evaluate()
    print(report)
    print(tuner.predict(["$TSLA misses delivery estimates, shares fall", "Fed holds rates steady"]))


if __name__ == "__main__":
    main()
