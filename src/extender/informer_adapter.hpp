#pragma once
// Feeds kube/ informer objects into the extender's ClusterEvents. The serve wiring registers these as
// the add/update/delete handlers of the Node and Pod informers (and calls ClusterEvents::synced() once
// both report hasSynced); tests and benchmarks use them to load a cluster from JSON.

#include "extender/cache.hpp"
#include "kube/objects.hpp"

namespace spotfit::extender {

// The cache key of a pod (uid, else namespace/name).
std::string podKey(const kube::Pod& pod);

void applyNode(ClusterEvents& sink, const kube::Node& node);
void deleteNode(ClusterEvents& sink, const kube::Node& node);
void applyPod(ClusterEvents& sink, const kube::Pod& pod);
void deletePod(ClusterEvents& sink, const kube::Pod& pod);

// Loads every Node and Pod of a v1 List (or NodeList / PodList) document into the sink. Items of other
// kinds are skipped; an item that fails to decode is an error naming its index.
Status loadList(ClusterEvents& sink, std::string_view json);

}  // namespace spotfit::extender
