/** The resource dependency graph of an environment record, as Mermaid or Graphviz DOT. */
import { RecordView } from "./model";

function nodeId(id: string): string {
    return `n_${id.replace(/[^A-Za-z0-9]/g, "_")}`;
}

export function toMermaid(record: RecordView): string {
    const lines = ["graph LR"];
    for (const r of record.resources) {
        lines.push(`    ${nodeId(r.id)}["${r.id}<br/>${r.template.split(":").pop()} x${r.count}"]`);
    }
    for (const r of record.resources) {
        for (const dep of r.dependsOn) {
            lines.push(`    ${nodeId(r.id)} --> ${nodeId(dep)}`);
        }
    }
    return `${lines.join("\n")}\n`;
}

export function toDot(record: RecordView): string {
    const lines = [`digraph "${record.name}" {`, "    rankdir=LR;", '    node [shape=box, fontname="Helvetica"];'];
    for (const r of record.resources) {
        lines.push(`    ${nodeId(r.id)} [label="${r.id}\\n${r.template.split(":").pop()} x${r.count}"];`);
    }
    for (const r of record.resources) {
        for (const dep of r.dependsOn) {
            lines.push(`    ${nodeId(r.id)} -> ${nodeId(dep)};`);
        }
    }
    lines.push("}");
    return `${lines.join("\n")}\n`;
}
