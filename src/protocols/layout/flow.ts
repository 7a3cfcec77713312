// Integer flow networks on typed arrays, for the layout assignment: Dinic's max-flow, and a
// primal-dual min-cost max-flow that runs Dinic on the arcs of zero reduced cost.
//
// Arcs are stored in pairs: arc 2k is an edge as given, arc 2k+1 its reverse (capacity 0), so the
// reverse of arc a is a ^ 1. `residual[a]` is what may still be pushed along a; the flow on a
// forward arc is capacity - residual. Adjacency is in compressed rows, in insertion order, so every
// search visits arcs in an order fixed by the caller: same graph, same flow, on every node.
// No allocation happens per arc or per path in the hot loops.

const UNREACHED = 0x3fffffff;

export class FlowNetworkBuilder {
  private readonly tails: number[] = [];
  private readonly heads: number[] = [];
  private readonly capacities: number[] = [];
  private readonly costs: number[] = [];

  constructor(readonly vertexCount: number) {}

  /** Adds an edge; returns its arc id (even). Costs must be >= 0 (min-cost starts from zero flow). */
  addEdge(from: number, to: number, capacity: number, cost = 0): number {
    if (from < 0 || from >= this.vertexCount || to < 0 || to >= this.vertexCount) {
      throw new RangeError(`flow edge ${from} -> ${to} outside 0..${this.vertexCount - 1}`);
    }
    if (!Number.isInteger(capacity) || capacity < 0 || !Number.isInteger(cost) || cost < 0) {
      throw new RangeError(`flow edge ${from} -> ${to}: capacity ${capacity} and cost ${cost} must be integers >= 0`);
    }
    this.tails.push(from);
    this.heads.push(to);
    this.capacities.push(capacity);
    this.costs.push(cost);
    return 2 * (this.tails.length - 1);
  }

  build(): FlowNetwork {
    return new FlowNetwork(this.vertexCount, this.tails, this.heads, this.capacities, this.costs);
  }
}

export class FlowNetwork {
  private readonly arcHead: Int32Array;
  private readonly arcCost: Int32Array;
  private readonly capacity: Int32Array;
  private readonly residual: Int32Array;
  private readonly rowStart: Int32Array;
  private readonly rowArcs: Int32Array;
  // Scratch, reused by every search.
  private readonly level: Int32Array;
  private readonly nextArc: Int32Array;
  private readonly queue: Int32Array;
  private readonly path: Int32Array;
  private readonly potential: Int32Array;
  private readonly distance: Int32Array;
  private readonly heapKeys: Int32Array;
  private readonly heapVertices: Int32Array;

  constructor(
    readonly vertexCount: number,
    tails: readonly number[],
    heads: readonly number[],
    capacities: readonly number[],
    costs: readonly number[],
  ) {
    const arcCount = 2 * tails.length;
    this.arcHead = new Int32Array(arcCount);
    this.arcCost = new Int32Array(arcCount);
    this.capacity = new Int32Array(arcCount);
    const arcTail = new Int32Array(arcCount);
    for (let edge = 0; edge < tails.length; edge++) {
      const forward = 2 * edge;
      arcTail[forward] = tails[edge]!;
      this.arcHead[forward] = heads[edge]!;
      this.capacity[forward] = capacities[edge]!;
      this.arcCost[forward] = costs[edge]!;
      arcTail[forward + 1] = heads[edge]!;
      this.arcHead[forward + 1] = tails[edge]!;
      this.arcCost[forward + 1] = -costs[edge]!;
    }
    this.residual = Int32Array.from(this.capacity);
    // Compressed rows by tail, stable (counting sort), so each row keeps insertion order.
    this.rowStart = new Int32Array(vertexCount + 1);
    for (let arc = 0; arc < arcCount; arc++) this.rowStart[arcTail[arc]! + 1]!++;
    for (let vertex = 0; vertex < vertexCount; vertex++) this.rowStart[vertex + 1]! += this.rowStart[vertex]!;
    const fill = this.rowStart.slice(0, vertexCount);
    this.rowArcs = new Int32Array(arcCount);
    for (let arc = 0; arc < arcCount; arc++) this.rowArcs[fill[arcTail[arc]!]!++] = arc;
    this.level = new Int32Array(vertexCount);
    this.nextArc = new Int32Array(vertexCount);
    this.queue = new Int32Array(vertexCount);
    this.path = new Int32Array(vertexCount);
    this.potential = new Int32Array(vertexCount);
    this.distance = new Int32Array(vertexCount);
    this.heapKeys = new Int32Array(arcCount + 1);
    this.heapVertices = new Int32Array(arcCount + 1);
  }

  /** Sets an edge's capacity. Call resetFlow() before the next search: flows are not adjusted. */
  setCapacity(arc: number, capacity: number): void {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`flow capacity ${capacity} must be an integer >= 0`);
    this.capacity[arc] = capacity;
  }

  resetFlow(): void {
    this.residual.set(this.capacity);
  }

  flowOn(arc: number): number {
    return this.capacity[arc]! - this.residual[arc]!;
  }

  /** Pushes as much more flow as possible from source to sink (Dinic); returns what was added. */
  maxFlow(source: number, sink: number): number {
    let total = 0;
    while (this.buildLevels(source, sink, false)) total += this.blockingFlow(source, sink, false);
    return total;
  }

  /**
   * From zero flow, a maximum flow of least total cost (primal-dual): shortest paths by reduced
   * cost (Dijkstra with potentials), then a Dinic max-flow restricted to arcs of reduced cost 0,
   * repeated until the sink is unreachable. Every phase raises the path cost, so with small
   * integer costs there are few phases.
   */
  minCostMaxFlow(source: number, sink: number): { flow: number; cost: number } {
    this.resetFlow();
    this.potential.fill(0);
    let flow = 0;
    while (this.shortestDistances(source, sink)) {
      while (this.buildLevels(source, sink, true)) flow += this.blockingFlow(source, sink, true);
    }
    let cost = 0;
    for (let arc = 0; arc < this.arcHead.length; arc += 2) cost += this.arcCost[arc]! * this.flowOn(arc);
    return { flow, cost };
  }

  private admissible(arc: number, tail: number): boolean {
    return this.arcCost[arc]! + this.potential[tail]! - this.potential[this.arcHead[arc]!]! === 0;
  }

  /** Breadth-first levels over arcs with residual capacity; true if the sink is reached. */
  private buildLevels(source: number, sink: number, zeroReducedCostOnly: boolean): boolean {
    const { level, queue, rowStart, rowArcs, residual, arcHead } = this;
    level.fill(-1);
    level[source] = 0;
    queue[0] = source;
    let read = 0;
    let write = 1;
    while (read < write) {
      const vertex = queue[read++]!;
      for (let index = rowStart[vertex]!; index < rowStart[vertex + 1]!; index++) {
        const arc = rowArcs[index]!;
        const head = arcHead[arc]!;
        if (residual[arc]! <= 0 || level[head] !== -1) continue;
        if (zeroReducedCostOnly && !this.admissible(arc, vertex)) continue;
        level[head] = level[vertex]! + 1;
        queue[write++] = head;
      }
    }
    if (level[sink] === -1) return false;
    this.nextArc.set(rowStart.subarray(0, this.vertexCount));
    return true;
  }

  /** Augments along level-increasing paths until none is left (iterative DFS, current-arc pointers). */
  private blockingFlow(source: number, sink: number, zeroReducedCostOnly: boolean): number {
    const { level, nextArc, path, rowStart, rowArcs, residual, arcHead } = this;
    let total = 0;
    let depth = 0;
    let vertex = source;
    for (;;) {
      if (vertex === sink) {
        let pushed = UNREACHED;
        for (let step = 0; step < depth; step++) pushed = Math.min(pushed, residual[path[step]!]!);
        let firstSaturated = -1;
        for (let step = 0; step < depth; step++) {
          const arc = path[step]!;
          residual[arc]! -= pushed;
          residual[arc ^ 1]! += pushed;
          if (firstSaturated === -1 && residual[arc] === 0) firstSaturated = step;
        }
        total += pushed;
        depth = firstSaturated;
        vertex = arcHead[path[depth]! ^ 1]!; // back to the tail of the saturated arc
        continue;
      }
      let advanced = false;
      for (; nextArc[vertex]! < rowStart[vertex + 1]!; nextArc[vertex]!++) {
        const arc = rowArcs[nextArc[vertex]!]!;
        const head = arcHead[arc]!;
        if (residual[arc]! <= 0 || level[head] !== level[vertex]! + 1) continue;
        if (zeroReducedCostOnly && !this.admissible(arc, vertex)) continue;
        path[depth++] = arc;
        vertex = head;
        advanced = true;
        break;
      }
      if (advanced) continue;
      if (vertex === source) return total;
      level[vertex] = -1; // a dead end for the rest of this phase
      const arc = path[--depth]!;
      vertex = arcHead[arc ^ 1]!;
      nextArc[vertex]!++;
    }
  }

  /**
   * Dijkstra by reduced cost from the source, then potentials += min(distance, distance to sink):
   * reduced costs stay >= 0 on every residual arc and are 0 along every shortest path.
   */
  private shortestDistances(source: number, sink: number): boolean {
    const { distance, potential, rowStart, rowArcs, residual, arcHead, arcCost, heapKeys, heapVertices } = this;
    distance.fill(UNREACHED);
    distance[source] = 0;
    let heapSize = 0;
    const push = (key: number, vertex: number): void => {
      let slot = heapSize++;
      while (slot > 0) {
        const parent = (slot - 1) >> 1;
        if (heapKeys[parent]! <= key) break;
        heapKeys[slot] = heapKeys[parent]!;
        heapVertices[slot] = heapVertices[parent]!;
        slot = parent;
      }
      heapKeys[slot] = key;
      heapVertices[slot] = vertex;
    };
    push(0, source);
    while (heapSize > 0) {
      const key = heapKeys[0]!;
      const vertex = heapVertices[0]!;
      // Pop: sift the last entry down from the root.
      const lastKey = heapKeys[--heapSize]!;
      const lastVertex = heapVertices[heapSize]!;
      let slot = 0;
      for (;;) {
        let child = 2 * slot + 1;
        if (child >= heapSize) break;
        if (child + 1 < heapSize && heapKeys[child + 1]! < heapKeys[child]!) child++;
        if (heapKeys[child]! >= lastKey) break;
        heapKeys[slot] = heapKeys[child]!;
        heapVertices[slot] = heapVertices[child]!;
        slot = child;
      }
      heapKeys[slot] = lastKey;
      heapVertices[slot] = lastVertex;
      if (key > distance[vertex]!) continue; // a stale entry
      for (let index = rowStart[vertex]!; index < rowStart[vertex + 1]!; index++) {
        const arc = rowArcs[index]!;
        if (residual[arc]! <= 0) continue;
        const head = arcHead[arc]!;
        const candidate = key + arcCost[arc]! + potential[vertex]! - potential[head]!;
        if (candidate < distance[head]!) {
          distance[head] = candidate;
          push(candidate, head);
        }
      }
    }
    const sinkDistance = distance[sink]!;
    if (sinkDistance === UNREACHED) return false;
    for (let vertex = 0; vertex < this.vertexCount; vertex++) potential[vertex]! += Math.min(distance[vertex]!, sinkDistance);
    return true;
  }
}
