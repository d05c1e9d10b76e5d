"""The classic baseline every fine-tuned model must beat: TF-IDF n-grams + logistic regression."""

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from vertical_tune.evaluation.metrics import classification_metrics


def tfidf_baseline(train_texts, train_y, eval_texts, eval_y, label_names, *, seed=0):
    """Fit TF-IDF (word 1-2-grams) + class-balanced logistic regression and return its metrics.

    The probabilities cover every class in `label_names`, also when a class is absent
    from `train_y`. C=10 (weak regularisation) is the better of C in {1, 10} on the
    Twitter financial news validation file (macro-F1 0.775 against 0.737).
    """
    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2)),
        LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced", random_state=seed),
    )
    pipeline.fit(list(train_texts), list(train_y))
    fitted = pipeline.predict_proba(list(eval_texts))
    probabilities = _expand_columns(fitted, pipeline.classes_, len(label_names))
    return classification_metrics(eval_y, probabilities, label_names)


def _expand_columns(probabilities, classes, num_classes):
    full = np.zeros((probabilities.shape[0], num_classes))
    full[:, classes] = probabilities
    return full
