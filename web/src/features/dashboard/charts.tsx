import { useTranslation } from 'react-i18next'
import { Area, AreaChart, Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import { OTHER, type Series } from './pivot'

const COLORS = ['var(--chart-1)', 'var(--chart-2)', 'var(--chart-3)', 'var(--chart-4)', 'var(--chart-5)', 'var(--muted-fg)']

const hourLabel = (time: number) => {
  const d = new Date(time * 1000)
  return `${d.getMonth() + 1}/${d.getDate()} ${String(d.getHours()).padStart(2, '0')}:00`
}

interface Props {
  series: Series
  format: (value: number) => string
}

export function StackedArea({ series, format }: Props) {
  const { t } = useTranslation()
  const name = (m: string) => (m === OTHER ? t('dashboard.otherModels') : m)
  return (
    <ResponsiveContainer width="100%" height={240}>
      <AreaChart data={series.rows} margin={{ top: 8, right: 8, left: 8, bottom: 0 }}>
        <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" />
        <XAxis dataKey="time" tickFormatter={hourLabel} stroke="var(--muted-fg)" fontSize={11} minTickGap={40} />
        <YAxis tickFormatter={format} stroke="var(--muted-fg)" fontSize={11} width={70} />
        <Tooltip
          labelFormatter={(v) => hourLabel(Number(v))}
          formatter={(v, n) => [format(Number(v)), name(String(n))]}
          contentStyle={{ background: 'var(--card)', border: '1px solid var(--border)', color: 'var(--fg)' }}
        />
        <Legend formatter={(v) => name(String(v))} />
        {series.models.map((model, i) => (
          <Area
            key={model}
            type="monotone"
            dataKey={model}
            stackId="1"
            stroke={COLORS[i % COLORS.length]}
            fill={COLORS[i % COLORS.length]}
            fillOpacity={0.25}
            isAnimationActive={false}
          />
        ))}
      </AreaChart>
    </ResponsiveContainer>
  )
}

export function ModelBars({ data, format }: { data: Array<{ model: string; value: number }>; format: (v: number) => string }) {
  return (
    <ResponsiveContainer width="100%" height={Math.max(120, data.length * 28 + 40)}>
      <BarChart data={data} layout="vertical" margin={{ top: 4, right: 16, left: 8, bottom: 4 }}>
        <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" horizontal={false} />
        <XAxis type="number" tickFormatter={format} stroke="var(--muted-fg)" fontSize={11} />
        <YAxis type="category" dataKey="model" width={140} stroke="var(--muted-fg)" fontSize={11} />
        <Tooltip
          formatter={(v) => format(Number(v))}
          contentStyle={{ background: 'var(--card)', border: '1px solid var(--border)', color: 'var(--fg)' }}
        />
        <Bar dataKey="value" fill="var(--chart-1)" isAnimationActive={false} />
      </BarChart>
    </ResponsiveContainer>
  )
}
