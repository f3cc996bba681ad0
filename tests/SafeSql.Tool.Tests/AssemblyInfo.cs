// The tests start processes that measure the machine (TCP sockets, listen queues) and pack the tool: one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
