/* Every limit cmojo enforces, in one place, each with the reason for its value.
 *
 * A limit exists so that a peer (or a careless caller) cannot make this process
 * allocate, map, recurse or queue without bound. Exceeding a limit fails the
 * one message, call or connection involved with a named result code
 * (normally MOJO_RESULT_RESOURCE_EXHAUSTED for creation requests and a bad
 * message for peer input); it never aborts the process.
 *
 * Rules for this file: values are plain integer constants usable in #if and
 * static assertions; each comes with a comment saying why it was chosen and,
 * where it mirrors Chromium's Mojo, where Mojo sets it. Layers add their own
 * limits here rather than defining private ones. */
#ifndef CMOJO_SRC_CM_LIMITS_H_
#define CMOJO_SRC_CM_LIMITS_H_

/* Largest shared memory region that MojoCreateSharedBuffer (and hence the data
 * pipe ring buffers built on it) may create, and that a wrapped or received
 * region may claim to be: 1 GiB. This is Mojo's default
 * Configuration::max_shared_memory_num_bytes. It also keeps every region size
 * below INT_MAX and far below SIZE_MAX on 32-bit targets, so sizes and
 * in-region offsets can be converted to size_t/off_t without overflow checks
 * beyond the one against this limit. */
#define CM_MAX_SHARED_MEMORY_BYTES (1024ull * 1024ull * 1024ull)

/* Largest message payload, in bytes: 256 MiB. Mojo's default
 * Configuration::max_message_num_bytes. Applies to the bytes of one user
 * message, whether written locally or received from a peer; a peer's frame
 * claiming more is rejected before anything is allocated for it. */
#define CM_MAX_MESSAGE_BYTES (256ull * 1024ull * 1024ull)

/* Largest number of Mojo handles attached to one message through the C API:
 * 1,048,576. Mojo core's kMaxHandlesPerMessage, described there as a generous
 * limit that is cheap to enforce; it bounds the handle arrays the core
 * allocates for one MojoAppendMessageData/MojoGetMessageData call. */
#define CM_MAX_HANDLES_PER_MESSAGE (1024u * 1024u)

/* Largest number of OS handles (file descriptors) one transport frame may
 * carry: 253. This is Linux's SCM_MAX_FD, the most fds one sendmsg() can pass
 * in SCM_RIGHTS, and equals Mojo's kMaxAttachedHandles for channel messages.
 * A received frame announcing more is a protocol violation by the peer. */
#define CM_MAX_OS_HANDLES_PER_FRAME 253u

/* Largest payload of one transport frame: 256 MiB plus 1 MiB. A frame
 * carries one node message, which wraps a user message of up to
 * CM_MAX_MESSAGE_BYTES in node, event and handle-serialization headers; the
 * extra MiB is room for those, so a maximal user message still fits. A peer's
 * frame header announcing more is rejected before any buffer is grown for it.
 * The total (with the frame header) stays far below UINT32_MAX, the width of
 * the header's size field. */
#define CM_MAX_FRAME_PAYLOAD_BYTES (CM_MAX_MESSAGE_BYTES + 1024ull * 1024ull)

/* Most OS handles passed by one sendmsg(): 128, Mojo's kMaxSendmsgHandles.
 * A frame with more (up to CM_MAX_OS_HANDLES_PER_FRAME) is sent in several
 * sendmsg() calls. The receiver's control buffer is sized for this many, so a
 * peer passing more in one call makes the kernel truncate them (MSG_CTRUNC),
 * which fails that connection. */
#define CM_MAX_OS_HANDLES_PER_SENDMSG 128u

/* Deepest nesting of structs the bindings validator follows in one message
 * (Mojo counts structs only): 200, Mojo's kMaxRecursionDepth; the public
 * CMOJO_WIRE_MAX_DEPTH is this number. A message nested deeper is rejected (validation error VALIDATION_ERROR_MAX_RECURSION_DEPTH)
 * rather than risking the stack of the validating thread. */
#define CM_MAX_NESTING_DEPTH 200u

/* Most handles open at once in one process: 16,777,216 (2^24). The handle
 * table is an array indexed by handle; this caps it at a few hundred MiB in
 * the worst case, where Mojo relies on running out of memory instead. An
 * application that needs more has a leak. Creating a handle past it fails
 * with MOJO_RESULT_RESOURCE_EXHAUSTED. */
#define CM_MAX_HANDLES (16u * 1024u * 1024u)

/* Largest data pipe capacity MojoCreateDataPipe accepts: the shared memory
 * limit above, because the ring buffer of a data pipe is one shared memory
 * region (mapped by both ends, sent along when an end moves to another
 * process). Mojo rejects larger capacities the same way, when it fails to
 * allocate the region; asking for more gives MOJO_RESULT_RESOURCE_EXHAUSTED.
 * A ring size received from a peer (once data pipe ends cross processes) is
 * to be checked against the same bound before anything is mapped. */
#define CM_MAX_DATA_PIPE_CAPACITY_BYTES CM_MAX_SHARED_MEMORY_BYTES

/* Largest serialized ports event inside one node message (EVENT or
 * BROADCAST_EVENT): 1 MiB minus 4 KiB. A frame's payload may exceed a user
 * message by 1 MiB (CM_MAX_FRAME_PAYLOAD_BYTES); the event takes that room
 * except 4 KiB kept for the node message header and body (16 + 16 bytes
 * today, with space for later versions' appended fields), so a maximal event
 * with a maximal user message still fits one frame. The largest event the
 * ports layer writes (4096 carried ports at 112 bytes each, plus 64 bytes of
 * headers: about 449 KiB) is well below it. */
#define CM_MAX_NODE_EVENT_BYTES (1024ull * 1024ull - 4096ull)

/* Longest attachment name of an invitation (MojoAttachMessagePipeToInvitation)
 * that may cross in a REQUEST_PORT_MERGE node message: 4096 bytes. Mojo sets
 * no bound; names in practice are small integers or short strings, and a
 * node holds each pending name until its merge arrives, so a peer gets no
 * more than this per request. Attaching a longer name should fail locally
 * (RESOURCE_EXHAUSTED) rather than make an invitation that cannot be sent. */
#define CM_MAX_INVITATION_NAME_BYTES 4096u

/* Longest text in a GOODBYE (the reason a node closes a connection) or a
 * BAD_MESSAGE_REPORT (the error given to MojoNotifyBadMessage) node message:
 * 4096 bytes. The texts are diagnostics shown to an error handler; a sender
 * cuts a longer one at this length (the meaning survives, the peer's memory
 * is bounded). */
#define CM_MAX_NODE_MESSAGE_TEXT_BYTES 4096u

/* Most ports one user message event may carry, in an event received from
 * another node or made here: 4096. Mojo caps handles per message elsewhere
 * (the core's CM_MAX_HANDLES_PER_MESSAGE); this bound only keeps one
 * event's allocation reasonable, and makes the largest event fit
 * CM_MAX_NODE_EVENT_BYTES (checked in src/ports/event.c). */
#define CM_PORTS_MAX_PORTS_PER_EVENT 4096u

/* Ports announced dead that a node remembers: 65,536 (2 MiB of names at
 * most). Only ports on routes broken by a lost node are announced, a handful
 * per loss; past the bound, late events pointing at a dead port are no
 * longer caught (the route may then keep a proxy), which only a node
 * flooding such announcements can cause. */
#define CM_PORTS_MAX_DEAD_PORTS 65536u

/* Deepest nesting of objects of any kind (structs, unions inside unions,
 * arrays, maps) the wire validator follows: 1000. Mojo only counts structs
 * (CM_MAX_NESTING_DEPTH); types recursive through unions alone would
 * otherwise let a message exhaust the validating thread's stack. Real types
 * nest far less between two structs. */
#define CM_MAX_WIRE_CALL_NESTING 1000

/* Most bytes a connection may hold queued for a peer that does not read
 * (its socket full): 1 GiB, four times the largest message, so a burst of
 * large messages to a slow reader passes while a peer that stopped reading
 * cannot make this process grow without bound. Past it the connection
 * fails ("the peer does not read") and the peer is treated as gone. Mojo's
 * channel queues without a limit. */
#define CM_MAX_QUEUED_BYTES_PER_CONNECTION (1024ull * 1024ull * 1024ull)

/* Most peer records one node keeps at once (connections, plus nodes an
 * event waits for an introduction to): 4096. A graph of processes is far
 * smaller; the bound stops a peer that names random nodes in events (each
 * unknown name makes a record while the broker is asked) or a flood of
 * ADD_BROKER_CLIENT from growing the tables without limit. Past it a new
 * connection or invitation fails with RESOURCE_EXHAUSTED and an event for
 * an unknown node is dropped as if the node were lost. Mojo has no such
 * bound. */
#define CM_MAX_PEERS_PER_NODE 4096u

/* Clients one node may announce to the broker (ADD_BROKER_CLIENT) that
 * have not connected yet: 16. Each costs the broker a record and a socket
 * until the client says HELLO; a node inviting more children than this at
 * once is unusual, and one announcing names that never connect is
 * flooding. Past it the announcing node's connection is dropped; the
 * records of its clients that never connected go with it. */
#define CM_MAX_PENDING_CLIENTS_PER_PEER 16u

/* Introductions (a socket each) the broker holds for one node that is not
 * connected yet: 16, one per node that asks for it meanwhile in any honest
 * graph that size. Past it a requester hears "unknown". With the bound
 * above, one announcing node can make the broker hold at most 16 x 16
 * sockets for clients that never connect. */
#define CM_MAX_QUEUED_INTRODUCTIONS 16u

/* What one connection holds while it is not active yet (waiting for its
 * handshake or an introduction): the same byte bound as a connection's write
 * queue (CM_MAX_QUEUED_BYTES_PER_CONNECTION) and 65,536 fds. Honest bursts
 * fit (a process writing thousands of messages, or sending thousands of
 * handles, to a node it is being introduced to); past it that connection is
 * dropped, so nothing can make this node hold without bound for a peer that
 * never completes its handshake. */
#define CM_MAX_PENDING_FDS_PER_PEER 65536u

/* Clients one node may announce to the broker in all (connected or not):
 * 1024, a quarter of CM_MAX_PEERS_PER_NODE, so that no single node can fill
 * the broker's table and keep every later process out. Past it the
 * announcing node's connection is dropped. */
#define CM_MAX_CLIENTS_PER_PEER 1024u

/* Nodes one node waits to be introduced to at once: 256. An event naming a
 * node makes a waiting record while the broker is asked; a peer could name
 * made-up nodes (in the ports it sends) to fill the table. Past it, an event
 * for yet another unknown node is dropped as if that node were lost. */
#define CM_MAX_PENDING_INTRODUCTIONS 256u

/* The buffer pool (src/platform/buffer_pool.c): buffers from 64 KiB to
 * 64 MiB are kept for reuse, at most 4 per power-of-two size and 32 MiB in
 * all. Below 64 KiB malloc reuses memory without faulting anyway; above
 * 64 MiB messages are rare enough that a fresh mapping costs little beside
 * the copy. 4 per size covers what one large message needs in flight (its
 * payload, its frame, a queued tail, the receive buffer); 32 MiB bounds
 * what an idle process keeps after a burst of large messages. */
#define CM_BUFFER_POOL_MIN_BYTES (64u * 1024u)
#define CM_BUFFER_POOL_MAX_BYTES (64u * 1024u * 1024u)
#define CM_BUFFER_POOL_PER_CLASS 4u
#define CM_BUFFER_POOL_CACHED_BYTES (32u * 1024u * 1024u)

#endif /* CMOJO_SRC_CM_LIMITS_H_ */
