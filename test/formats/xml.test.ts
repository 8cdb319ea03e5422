// The small XML reader the vendor readers use (src/formats/xml.ts): what it keeps,
// and typed errors for bad or oversized input.
import { describe, expect, it } from 'vitest';
import { childNamed, descendantsNamed, localName, parseXml, textContent } from '../../src/formats/xml.js';

describe('parseXml', () => {
  it('elements, attributes (both quotes), entities, character references, CDATA; declarations and comments skipped', () => {
    const root = parseXml(
      `<?xml version="1.0"?>\n<!DOCTYPE a [<!ELEMENT a ANY>]>\n<!-- c --><a x="1 &amp; 2" y='&quot;q&quot;'><b>&lt;&#65;&#x42;&gt;</b><c/><d><![CDATA[<raw>&amp;]]></d></a>`,
    );
    expect(root.name).toBe('a');
    expect(root.attributes).toEqual({ x: '1 & 2', y: '"q"' });
    expect(textContent(childNamed(root, 'b')!)).toBe('<AB>');
    expect(childNamed(root, 'c')!.children).toEqual([]);
    expect(textContent(childNamed(root, 'd')!)).toBe('<raw>&amp;');
  });

  it('prefixed names keep their prefix; localName and descendantsNamed look through it', () => {
    const root = parseXml('<ns:scn xmlns:ns="u"><ns:image><ns:image/></ns:image></ns:scn>');
    expect(root.name).toBe('ns:scn');
    expect(localName(root.name)).toBe('scn');
    expect(descendantsNamed(root, 'image').length).toBe(2);
  });

  it('mismatched, unclosed or unquoted markup: E_MALFORMED', () => {
    for (const bad of ['<a><b></a></b>', '<a>', '<a x=1/>', '<a/><b/>', '', '<a><!-- x</a>', '<a x="1></a>']) {
      expect(() => parseXml(bad), bad).toThrow(expect.objectContaining({ code: 'E_MALFORMED' }));
    }
  });

  it('nesting deeper than 256 levels: E_TOO_LARGE, not a stack overflow', () => {
    const deep = '<a>'.repeat(300) + '</a>'.repeat(300);
    expect(() => parseXml(deep)).toThrow(expect.objectContaining({ code: 'E_TOO_LARGE' }));
    const ok = '<a>'.repeat(200) + '</a>'.repeat(200);
    expect(parseXml(ok).name).toBe('a');
  });

  it('more than 200,000 elements: E_TOO_LARGE', () => {
    expect(() => parseXml(`<a>${'<b/>'.repeat(200_001)}</a>`)).toThrow(expect.objectContaining({ code: 'E_TOO_LARGE' }));
  });
});
