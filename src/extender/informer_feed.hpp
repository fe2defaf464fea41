#pragma once
// Live feed of the extender cache from kube/ informers: every add/update/delete of a Node or Pod reaches
// the cache (through informer_adapter.hpp), on the informers' own threads.

#include "extender/cache.hpp"
#include "kube/informer.hpp"

namespace spotfit::extender {

// Registers handlers on both informers (call before they start). The caller signals
// ClusterEvents::synced() once both informers report hasSynced(); see waitAndMarkSynced.
void connectInformers(ClusterEvents& sink, kube::Informer<kube::Node>& nodes, kube::Informer<kube::Pod>& pods);

// Blocks until both informers have synced, then calls sink.synced(). Returns false (without marking)
// when `stop` is requested first. Checks every `poll`.
bool waitAndMarkSynced(ClusterEvents& sink, const kube::Informer<kube::Node>& nodes,
                       const kube::Informer<kube::Pod>& pods, std::stop_token stop,
                       std::chrono::milliseconds poll = std::chrono::milliseconds(100));

}  // namespace spotfit::extender
