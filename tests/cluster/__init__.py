"""Stories against a real one-node cluster (hack/cluster.sh): Crossplane installed by its Helm
chart, the function installed as a package from the local registry, real pods."""
