// The blog posts: Markdown files in src/content/posts. `kiln_thread` and
// `comments` are kiln's front-matter keys (see ssg-adapters/astro/README.md).
import { defineCollection, z } from 'astro:content';
import { glob } from 'astro/loaders';

const posts = defineCollection({
  loader: glob({ pattern: '*.md', base: './src/content/posts' }),
  schema: z.object({
    title: z.string(),
    date: z.coerce.date(),
    kiln_thread: z.string().optional(),
    comments: z.boolean().optional(),
  }),
});

export const collections = { posts };
