// Links drawn as arcs over the text: one SVG laid over the text element (never inside it,
// so the text's DOM stays exactly the document's characters). An arc runs from the top of
// its head span to the top of its tail span, with an arrowhead at the tail; the ends of
// several arcs on one span are spread along the span's top edge, and an arc between two
// lines rises above both ends.
//
// Span boxes are measured once per layout (a repaint of the text, a resize), so adding or
// removing a link only redraws the arcs.

import { keepChildren } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes = {}) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  return element;
}

export class ArcLayer {
  constructor(root) {
    this.root = root;
    this.stage = document.createElement("div");
    this.stage.className = "text-stage";
    root.before(this.stage);
    this.svg = svg("svg", { class: "arcs", "aria-hidden": "true" });
    this.defs = this.svg.appendChild(svg("defs"));
    this.group = this.svg.appendChild(svg("g"));
    this.stage.append(root, this.svg);
    this.markers = new Map(); // colour -> marker id
    this.paths = new Map(); // relation key -> the path last drawn for it
    this.boxes = null; // span key -> {left, top, width, height}, relative to the stage
    this.last = null; // the arguments of the last draw, for a redraw after a resize
    new ResizeObserver(() => {
      this.boxes = null;
      if (this.last) this.draw(...this.last);
    }).observe(root);
  }

  /** The layout changed (spans repainted): measure again at the next draw. */
  invalidate() {
    this.boxes = null;
  }

  /** The box of the first line of each span, from the first segment that carries it. */
  measure() {
    const origin = this.stage.getBoundingClientRect();
    const boxes = new Map();
    for (const segment of this.root.querySelectorAll(".seg")) {
      for (const key of segment.dataset.k.split(" ")) {
        if (boxes.has(key)) continue;
        const rect = segment.getClientRects()[0];
        if (!rect) continue;
        boxes.set(key, {
          left: rect.left - origin.left,
          top: rect.top - origin.top,
          width: rect.width,
          height: rect.height,
        });
      }
    }
    this.boxes = boxes;
    // Read here, with the layout just measured: reading sizes while drawing would make
    // the browser lay the whole text out again after every style change.
    this.svg.setAttribute("width", String(this.root.offsetWidth));
    this.svg.setAttribute("height", String(this.root.offsetHeight));
  }

  marker(colour) {
    let id = this.markers.get(colour);
    if (id === undefined) {
      id = `arc-head-${this.markers.size}`;
      const marker = svg("marker", {
        id,
        viewBox: "0 0 8 8",
        refX: "7",
        refY: "4",
        markerWidth: "7",
        markerHeight: "7",
        orient: "auto-start-reverse",
      });
      marker.append(svg("path", { d: "M0,0 L8,4 L0,8 z", fill: colour }));
      this.defs.append(marker);
      this.markers.set(colour, id);
    }
    return id;
  }

  /**
   * Draw `relations` ({key, type, head, tail}, ends with a `key`). `colourOf(type)`: the
   * arc's colour; `selected`: the key of the selected span, whose arcs are drawn bold
   * and named.
   */
  draw(relations, colourOf, selected) {
    this.last = [relations, colourOf, selected];
    if (!this.boxes) this.measure();
    const drawn = [];
    // Where on its span's top edge each arc ends: spread by the other end's position.
    const ends = new Map();
    for (const rel of relations) {
      const head = this.boxes.get(String(rel.head.key));
      const tail = this.boxes.get(String(rel.tail.key));
      if (!head || !tail) continue;
      drawn.push({ rel, head, tail });
      for (const [box, other] of [
        [head, tail],
        [tail, head],
      ]) {
        if (!ends.has(box)) ends.set(box, []);
        ends.get(box).push({ rel, towards: other.top * 1e6 + other.left });
      }
    }
    const endX = new Map(); // box -> Map(rel -> x)
    for (const [box, list] of ends) {
      list.sort((a, b) => a.towards - b.towards);
      endX.set(box, new Map(list.map((item, index) => [item.rel, box.left + (box.width * (index + 1)) / (list.length + 1)])));
    }
    const elements = [];
    const paths = new Map(); // what this draw made, by relation key, for the next one
    for (const { rel, head, tail } of drawn) {
      const x1 = endX.get(head).get(rel);
      const x2 = endX.get(tail).get(rel);
      // Inside the boxes, a little below their top edge.
      const y1 = head.top + 2;
      const y2 = tail.top + 2;
      const sameLine = Math.abs(head.top - tail.top) < head.height / 2;
      const rise = sameLine ? Math.min(6 + Math.abs(x2 - x1) / 25, 16) : 16;
      const apex = Math.min(y1, y2) - rise;
      const colour = colourOf(rel.type);
      const bold = selected !== null && (rel.head.key === selected || rel.tail.key === selected);
      const attributes = {
        d: `M${x1.toFixed(1)},${y1.toFixed(1)} C${x1.toFixed(1)},${apex.toFixed(1)} ${x2.toFixed(1)},${apex.toFixed(1)} ${x2.toFixed(1)},${y2.toFixed(1)}`,
        stroke: colour,
        "marker-end": `url(#${this.marker(colour)})`,
        class: bold ? "arc is-bold" : "arc",
        "data-head": String(rel.head.key),
        "data-tail": String(rel.tail.key),
        "data-type": rel.type,
      };
      // An arc drawn the same last time keeps its element: adding one link adds one path.
      const signature = Object.values(attributes).join("|");
      let path = this.paths.get(rel.key);
      if (!path || path.dataset.signature !== signature) {
        path = svg("path", attributes);
        path.dataset.signature = signature;
      }
      paths.set(rel.key, path);
      elements.push(path);
      if (bold) {
        const name = svg("text", { x: ((x1 + x2) / 2).toFixed(1), y: (apex + rise / 4 - 2).toFixed(1), class: "arc-name" });
        name.textContent = rel.type;
        elements.push(name);
      }
    }
    this.paths = paths;
    keepChildren(this.group, elements);
  }
}
