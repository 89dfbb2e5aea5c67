"""Times one scikit-learn clustering on a .npy matrix, for `npm run bench:cluster` (bench/cluster.ts).

/usr/bin/python3 bench/cluster-sklearn.py --data X.npy --labels Y.npy --k 50 --method kmeans|spectral|gmm|agglomerative [--n-init 10]

Loads float32 data (N x D) and the true labels (N x 1, float32 holding whole numbers), fits
KMeans(n_clusters=k, n_init=N_INIT (default 10), random_state=0) or SpectralClustering(n_clusters=k,
affinity='nearest_neighbors', n_neighbors=10, eigen_solver='lobpcg', assign_labels='cluster_qr',
random_state=0), GaussianMixture(n_components=k, covariance_type='diag', random_state=0) (gmm) or
AgglomerativeClustering(n_clusters=k, linkage='ward', connectivity=kneighbors_graph(X, 10)) (agglomerative,
the graph's time included), and prints one JSON line: seconds (the fit only, not the load), ari against the true
labels, peak_rss_mb of this process, and the scikit-learn version.
"""
import argparse
import json
import resource
import time

import numpy as np
import sklearn
from sklearn.cluster import AgglomerativeClustering, KMeans, SpectralClustering
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import kneighbors_graph

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--labels", required=True)
parser.add_argument("--k", type=int, required=True)
parser.add_argument("--n-init", type=int, default=10)
parser.add_argument("--method", choices=["kmeans", "spectral", "gmm", "agglomerative"], required=True)
arguments = parser.parse_args()

data = np.load(arguments.data)
truth = np.load(arguments.labels).ravel().astype(np.int64)

started = time.perf_counter()
if arguments.method == "kmeans":
    model = KMeans(n_clusters=arguments.k, n_init=arguments.n_init, random_state=0)
elif arguments.method == "gmm":
    model = GaussianMixture(n_components=arguments.k, covariance_type="diag", random_state=0)
elif arguments.method == "agglomerative":
    model = AgglomerativeClustering(
        n_clusters=arguments.k, linkage="ward", connectivity=kneighbors_graph(data, n_neighbors=10, include_self=False)
    )
else:
    model = SpectralClustering(
        n_clusters=arguments.k,
        affinity="nearest_neighbors",
        n_neighbors=10,
        eigen_solver="lobpcg",
        assign_labels="cluster_qr",
        random_state=0,
    )
labels = model.fit_predict(data)
seconds = time.perf_counter() - started
print(
    json.dumps(
        {
            "seconds": seconds,
            "ari": float(adjusted_rand_score(truth, labels)),
            # ru_maxrss is in kilobytes on Linux.
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "sklearn_version": sklearn.__version__,
        }
    )
)
